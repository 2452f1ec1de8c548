-- Attempts counted per subject, for every throttled action: sign-ins and current
-- passwords per account and per client address, code attempts, registrations.
-- An attempt is counted when it starts, so a burst sent at once is limited like the
-- same attempts one by one; a success takes its count back.
CREATE TABLE throttle_counters (
    subject      TEXT    PRIMARY KEY,   -- e.g. 'account:<email>', 'code-address:<network>'
    attempts     INTEGER NOT NULL CHECK (attempts >= 0),
    window_ends  INTEGER NOT NULL       -- the count starts over after this instant
) WITHOUT ROWID;
CREATE INDEX throttle_counters_by_window_end ON throttle_counters (window_ends);

-- The sign-in counters carry over: a paused account stays paused. Their window was
-- fifteen minutes, the only rule there was.
INSERT INTO throttle_counters (subject, attempts, window_ends)
    SELECT subject, failures, window_started + 900 FROM signin_failures;
DROP TABLE signin_failures;
