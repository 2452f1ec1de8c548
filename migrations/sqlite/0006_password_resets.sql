-- "Forgot your password?" links. Only a hash of each token is stored, so a copy of
-- the database opens no account. A token works once, for thirty minutes, and using
-- one spends every other token of the account.
CREATE TABLE password_resets (
    token_hash  TEXT    PRIMARY KEY,        -- SHA-256 of the token, hex
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
) WITHOUT ROWID;
CREATE INDEX password_resets_by_user ON password_resets (user_id);
CREATE INDEX password_resets_by_expiry ON password_resets (expires_at);
