-- The audit trail: one entry per change made by staff or by an operator command,
-- each holding a SHA-256 over the previous entry's hash and its own content. Ids
-- run 1, 2, 3… with no gap; `audit_chain` holds the last id and hash, so removing
-- the newest entries is noticed too, and writers take their turn on its one row.
CREATE TABLE audit_entries (
    id             INTEGER PRIMARY KEY,
    at             INTEGER NOT NULL,
    actor          TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    customer_id    INTEGER,
    before_value   TEXT,
    after_value    TEXT,
    reason         TEXT,
    previous_hash  TEXT    NOT NULL,
    hash           TEXT    NOT NULL
);
CREATE INDEX audit_entries_by_customer ON audit_entries (customer_id, id) WHERE customer_id IS NOT NULL;
CREATE INDEX audit_entries_by_actor ON audit_entries (actor, id);

CREATE TABLE audit_chain (
    only_row   INTEGER PRIMARY KEY CHECK (only_row = 1),
    last_id    INTEGER NOT NULL,
    last_hash  TEXT    NOT NULL
);
INSERT INTO audit_chain (only_row, last_id, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Append-only: the store never changes or removes an entry.
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;

-- Who made a ledger event: `staff:<email>` or `cli:<user>`; none for a shopper's
-- own redemption, order or refund of it.
ALTER TABLE credit_events ADD COLUMN actor TEXT;

-- Settings operators change while the store runs (`storecredit settings set`).
CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
