-- Mail that is never lost (SPEC §9): every message the store sends is written to
-- the outbox in the transaction of the change it tells of, rendered whole, and
-- sent later by whichever server (or `storecredit mail send`) claims it first.
-- A claim holds a message until `claimed_until`; a sender that dies with a
-- message claimed leaves it to be claimed again once that passes.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    kind             TEXT    NOT NULL,
    user_id          INTEGER REFERENCES users (id),
    recipient        TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    text_body        TEXT    NOT NULL,
    html_body        TEXT    NOT NULL,
    message_id       TEXT    NOT NULL UNIQUE,      -- kept across retries
    list_unsubscribe TEXT,                         -- the one-click unsubscribe link
    holds_secret     INTEGER NOT NULL DEFAULT 0 CHECK (holds_secret IN (0, 1)),
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    claimed_until    INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    sent_at          INTEGER,
    failed_at        INTEGER,
    CHECK (sent_at IS NULL OR failed_at IS NULL)
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id)
    WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_by_user ON outbox (user_id, id);

-- Where links in mail point: the public origin the last server to start was
-- given, so messages queued by an operator command link to the site too.
CREATE TABLE site_origin (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    origin      TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- A registration waiting for its address to be confirmed: the account is made
-- from it when the link mailed to the address is followed (24 hours, once).
CREATE TABLE pending_registrations (
    token_hash     TEXT    PRIMARY KEY,            -- SHA-256 of the link's token
    email          TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    return_to      TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
);
CREATE INDEX pending_registrations_by_expiry ON pending_registrations (expires_at);

-- One reminder per credit before it expires.
CREATE TABLE expiry_reminders (
    credit_id    INTEGER PRIMARY KEY REFERENCES credits (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    outbox_id    INTEGER NOT NULL REFERENCES outbox (id),
    reminded_at  INTEGER NOT NULL
);

-- A shopper's mail choices: reminders can be turned off from the link in each
-- one; `unsubscribe_token` is that link's secret, made with the first reminder.
ALTER TABLE users ADD COLUMN reminders_off INTEGER NOT NULL DEFAULT 0 CHECK (reminders_off IN (0, 1));
ALTER TABLE users ADD COLUMN last_reminded_at INTEGER;
ALTER TABLE users ADD COLUMN unsubscribe_token TEXT;
CREATE UNIQUE INDEX users_by_unsubscribe_token ON users (unsubscribe_token);
