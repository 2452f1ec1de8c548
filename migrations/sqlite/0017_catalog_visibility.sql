-- Issue 26: what the console's catalog and staff pages change.
-- A hidden category leaves the store's navigation and listings (and codes can no
-- longer name it); a hidden product is not listed and cannot be bought. Past
-- orders and receipts keep showing both, and credit held in a hidden category
-- still shows in its owner's pop-up.
ALTER TABLE categories ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1));
ALTER TABLE products ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1));

-- When a staff member last opened a console session; before this column, the
-- audit trail's last sign-in entry.
ALTER TABLE staff ADD COLUMN last_signin_at INTEGER;
UPDATE staff SET last_signin_at = (
    SELECT MAX(a.at) FROM audit_entries a
    WHERE a.action = 'console.signin' AND a.subject = 'staff:' || staff.email
);
