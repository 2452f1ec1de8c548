-- The audit trail: one entry per change made by staff or by an operator command,
-- each holding a SHA-256 over the previous entry's hash and its own content. Ids
-- run 1, 2, 3… with no gap; `audit_chain` holds the last id and hash, so removing
-- the newest entries is noticed too, and writers (on every server) take their turn
-- on its one row, so there is one chain.
CREATE TABLE audit_entries (
    id             BIGINT PRIMARY KEY,
    at             BIGINT NOT NULL,
    actor          TEXT   NOT NULL,
    action         TEXT   NOT NULL,
    subject        TEXT   NOT NULL,
    customer_id    BIGINT,
    before_value   TEXT,
    after_value    TEXT,
    reason         TEXT,
    previous_hash  TEXT   NOT NULL,
    hash           TEXT   NOT NULL
);
CREATE INDEX audit_entries_by_customer ON audit_entries (customer_id, id) WHERE customer_id IS NOT NULL;
CREATE INDEX audit_entries_by_actor ON audit_entries (actor, id);

CREATE TABLE audit_chain (
    only_row   BIGINT PRIMARY KEY CHECK (only_row = 1),
    last_id    BIGINT NOT NULL,
    last_hash  TEXT   NOT NULL
);
INSERT INTO audit_chain (only_row, last_id, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Append-only: the store never changes or removes an entry.
CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only';
END;
$$;
CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries
FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only();

-- Who made a ledger event: `staff:<email>` or `cli:<user>`; none for a shopper's
-- own redemption, order or refund of it.
ALTER TABLE credit_events ADD COLUMN actor TEXT;

-- Settings operators change while the store runs (`storecredit settings set`).
CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
