-- Four eyes (SPEC §8): a grant, or an upward adjustment, above the approval
-- threshold waits here as a request, holding everything needed to apply it
-- later, until another manager or owner approves or rejects it.
-- `credit_id` is the credit an adjustment raises, or the credit a grant made
-- once approved. Staff ids are kept as numbers: a request outlives a staff
-- member's role or address.
CREATE TABLE approval_requests (
    id                    INTEGER PRIMARY KEY,
    kind                  TEXT    NOT NULL CHECK (kind IN ('grant', 'adjust')),
    user_id               INTEGER NOT NULL REFERENCES users (id),
    credit_id             INTEGER REFERENCES credits (id),
    amount_cents          INTEGER NOT NULL CHECK (amount_cents > 0),
    credit_kind           TEXT    CHECK (credit_kind IN ('promotional', 'gift_card')),
    category_mask         INTEGER NOT NULL DEFAULT 0,
    expires_at            INTEGER,
    note                  TEXT,
    reason                TEXT    NOT NULL,
    requested_by          TEXT    NOT NULL,
    requested_by_staff    INTEGER,
    requested_at          INTEGER NOT NULL,
    status                TEXT    NOT NULL DEFAULT 'pending'
                                  CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by            TEXT,
    decided_by_staff      INTEGER,
    decided_at            INTEGER,
    decision_reason       TEXT,
    CHECK (kind = 'adjust' OR credit_kind IS NOT NULL),
    CHECK (kind = 'grant' OR credit_id IS NOT NULL),
    CHECK ((status = 'pending') = (decided_at IS NULL))
);
CREATE INDEX approval_requests_pending ON approval_requests (id) WHERE status = 'pending';
CREATE INDEX approval_requests_by_user ON approval_requests (user_id, id);

-- What support staff handed out as goodwill, for their limits ($25.00 a grant,
-- $100.00 a day each): a row per goodwill grant, applied or waiting.
CREATE TABLE goodwill_grants (
    id               INTEGER PRIMARY KEY,
    granted_by       TEXT    NOT NULL,
    granted_by_staff INTEGER,
    user_id          INTEGER NOT NULL REFERENCES users (id),
    amount_cents     INTEGER NOT NULL CHECK (amount_cents > 0),
    granted_at       INTEGER NOT NULL,
    credit_id        INTEGER REFERENCES credits (id),
    request_id       INTEGER REFERENCES approval_requests (id),
    CHECK ((credit_id IS NULL) <> (request_id IS NULL))
);
CREATE INDEX goodwill_grants_by_granter ON goodwill_grants (granted_by, granted_at);
