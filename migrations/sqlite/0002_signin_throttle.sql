-- Failed sign-ins, counted per account (by the e-mail typed, known or not) and per
-- client address, so the throttle survives a restart (SPEC §4).
CREATE TABLE signin_failures (
    subject          TEXT    PRIMARY KEY,   -- 'account:<email>' or 'address:<ip>'
    failures         INTEGER NOT NULL CHECK (failures > 0),
    window_started   INTEGER NOT NULL,      -- first failure of the current window
    blocked_until    INTEGER                -- sign-ins refused until then
) WITHOUT ROWID;
