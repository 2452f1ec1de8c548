-- Issue 26: what the console's catalog and staff pages change.
-- A hidden category leaves the store's navigation and listings (and codes can no
-- longer name it); a hidden product is not listed and cannot be bought. Past
-- orders and receipts keep showing both, and credit held in a hidden category
-- still shows in its owner's pop-up.
ALTER TABLE categories ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE products ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;

-- When a staff member last opened a console session; before this column, the
-- audit trail's last sign-in entry.
ALTER TABLE staff ADD COLUMN last_signin_at BIGINT;
UPDATE staff SET last_signin_at = (
    SELECT MAX(a.at) FROM audit_entries a
    WHERE a.action = 'console.signin' AND a.subject = 'staff:' || staff.email
);
