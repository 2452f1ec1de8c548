-- Counts password changes. A session is created only for the version its password
-- was checked against, so a sign-in still in flight when the password changes
-- cannot outlive the change.
ALTER TABLE users ADD COLUMN credentials_version INTEGER NOT NULL DEFAULT 0;
