-- An operator can deactivate a code (a leaked gift card code, a promotion pulled
-- early): it is then refused as if it did not exist. What it already granted stays.
ALTER TABLE codes ADD COLUMN active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1));
