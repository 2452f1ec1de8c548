-- Staff accounts (SPEC §8): not shopper accounts. The e-mail is stored normalised
-- (trimmed, lower-case), so it is unique whatever its case. No password and no
-- second factor until the person enrols; `credentials_version` goes up with every
-- role change, disable and reset, which ends the member's console sessions.
CREATE TABLE staff (
    id                   INTEGER PRIMARY KEY,
    email                TEXT    NOT NULL UNIQUE,
    name                 TEXT    NOT NULL,
    role                 TEXT    NOT NULL CHECK (role IN ('support', 'finance', 'manager', 'owner')),
    password_hash        TEXT,
    totp_secret          TEXT,
    last_totp_step       INTEGER  NOT NULL DEFAULT 0,
    credentials_version  INTEGER  NOT NULL DEFAULT 0,
    disabled_at          INTEGER,
    created_at           INTEGER  NOT NULL
);

-- One-time enrolment links: only the token's SHA-256 is kept.
CREATE TABLE staff_enrolments (
    token_hash   TEXT    PRIMARY KEY,
    staff_id     INTEGER  NOT NULL REFERENCES staff (id),
    totp_secret  TEXT    NOT NULL,
    created_at   INTEGER  NOT NULL,
    expires_at   INTEGER  NOT NULL,
    used_at      INTEGER
);
CREATE INDEX staff_enrolments_by_staff ON staff_enrolments (staff_id);

-- Console sessions: the cookie's token is stored as its SHA-256.
CREATE TABLE staff_sessions (
    token_hash           TEXT    PRIMARY KEY,
    staff_id             INTEGER  NOT NULL REFERENCES staff (id),
    csrf_token           TEXT    NOT NULL,
    credentials_version  INTEGER  NOT NULL,
    created_at           INTEGER  NOT NULL,
    idle_expires_at      INTEGER  NOT NULL,
    expires_at           INTEGER  NOT NULL
);
CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);
