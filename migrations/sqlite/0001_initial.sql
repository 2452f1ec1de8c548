-- The whole data model of the store (SPEC §2).
--
-- Conventions:
--   * money is INTEGER cents, never REAL;
--   * instants are INTEGER seconds since the Unix epoch, UTC;
--   * a category set is an INTEGER bit mask: music = 1, kindle = 2, video = 4,
--     software = 8 (see src/domain/category.rs), so the balance query needs no join.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,      -- normalised: trimmed, lower-case
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,             -- argon2id PHC string
    created_at    INTEGER NOT NULL
);

-- Simulated cards: only the brand and the last four digits are ever stored.
CREATE TABLE payment_methods (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    brand       TEXT    NOT NULL,
    last4       TEXT    NOT NULL CHECK (length(last4) = 4 AND last4 NOT GLOB '*[^0-9]*'),
    is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX payment_methods_one_default ON payment_methods (user_id) WHERE is_default = 1;

-- Server-side sessions (actix-session state). user_id is copied out of the state so
-- that every session of an account can be ended at once.
CREATE TABLE sessions (
    key         TEXT    PRIMARY KEY,
    user_id     INTEGER REFERENCES users (id) ON DELETE CASCADE,
    state       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,               -- for the absolute timeout
    expires_at  INTEGER NOT NULL                -- sliding idle timeout
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Secrets the server creates on first start (the session cookie key).
CREATE TABLE server_secrets (
    name   TEXT PRIMARY KEY,
    value  BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE products (
    id           INTEGER PRIMARY KEY,
    category     TEXT    NOT NULL CHECK (category IN ('music', 'kindle', 'video', 'software')),
    format       TEXT    NOT NULL,              -- "MP3 track", "Album", "Kindle edition", …
    title        TEXT    NOT NULL,
    creator      TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    price_cents  INTEGER NOT NULL CHECK (price_cents > 0),
    featured     INTEGER NOT NULL DEFAULT 0 CHECK (featured IN (0, 1))
);
CREATE INDEX products_by_category ON products (category, title);

-- Codes a shopper can redeem. Exactly one of the value columns fits each kind.
CREATE TABLE codes (
    id                INTEGER PRIMARY KEY,
    code              TEXT    NOT NULL UNIQUE,  -- normalised: trimmed, upper-case
    kind              TEXT    NOT NULL CHECK (kind IN ('credit', 'gift_card', 'discount')),
    description       TEXT    NOT NULL,
    amount_cents      INTEGER CHECK (amount_cents > 0),
    percent_off       INTEGER CHECK (percent_off BETWEEN 1 AND 100),
    categories        INTEGER NOT NULL DEFAULT 15 CHECK (categories BETWEEN 1 AND 15),
    valid_days        INTEGER CHECK (valid_days > 0),   -- credit lifetime after redemption
    redeem_by         INTEGER,                          -- redemption deadline
    max_redemptions   INTEGER CHECK (max_redemptions > 0),
    redemptions       INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    CHECK (max_redemptions IS NULL OR redemptions <= max_redemptions),
    CHECK (redemptions >= 0),
    CHECK (
        (kind = 'credit'    AND amount_cents IS NOT NULL AND percent_off IS NULL) OR
        (kind = 'gift_card' AND amount_cents IS NOT NULL AND percent_off IS NULL
                            AND categories = 15) OR
        (kind = 'discount'  AND (amount_cents IS NULL) <> (percent_off IS NULL))
    )
);

CREATE TABLE code_redemptions (
    id           INTEGER PRIMARY KEY,
    code_id      INTEGER NOT NULL REFERENCES codes (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    redeemed_at  INTEGER NOT NULL,
    UNIQUE (code_id, user_id)                   -- once per account
);

CREATE TABLE orders (
    id                        INTEGER PRIMARY KEY,
    user_id                   INTEGER NOT NULL REFERENCES users (id),
    product_id                INTEGER NOT NULL REFERENCES products (id),
    idempotency_key           TEXT    NOT NULL,
    price_cents               INTEGER NOT NULL CHECK (price_cents > 0),
    discount_cents            INTEGER NOT NULL DEFAULT 0 CHECK (discount_cents >= 0),
    promotional_credit_cents  INTEGER NOT NULL DEFAULT 0 CHECK (promotional_credit_cents >= 0),
    gift_card_cents           INTEGER NOT NULL DEFAULT 0 CHECK (gift_card_cents >= 0),
    card_cents                INTEGER NOT NULL DEFAULT 0 CHECK (card_cents >= 0),
    card_label                TEXT,                 -- "Visa ending in 4242" when a card paid
    promotion                 TEXT,                 -- what the discount or code was, for the receipt
    placed_at                 INTEGER NOT NULL,
    refunded_at               INTEGER,
    UNIQUE (user_id, idempotency_key),            -- a double submit is one order
    CHECK (price_cents = discount_cents + promotional_credit_cents + gift_card_cents + card_cents),
    CHECK (card_cents = 0 OR card_label IS NOT NULL)
);
CREATE INDEX orders_by_user ON orders (user_id, placed_at DESC);

CREATE TABLE card_refunds (
    order_id      INTEGER PRIMARY KEY REFERENCES orders (id),
    amount_cents  INTEGER NOT NULL CHECK (amount_cents > 0),
    card_label    TEXT    NOT NULL,
    refunded_at   INTEGER NOT NULL
);

-- A credit: one pot of money. remaining_cents is kept equal to the sum of the pot's
-- ledger events (checked by `storecredit ledger verify`) and can never leave
-- [0, original_cents], so no balance can go negative even through a bug.
CREATE TABLE credits (
    id                  INTEGER PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users (id),
    kind                TEXT    NOT NULL CHECK (kind IN ('promotional', 'gift_card')),
    categories          INTEGER NOT NULL CHECK (categories BETWEEN 1 AND 15),
    source              TEXT    NOT NULL CHECK (source IN ('promo_code', 'gift_card_code', 'refund', 'grant')),
    description         TEXT    NOT NULL,
    code_redemption_id  INTEGER REFERENCES code_redemptions (id),
    original_cents      INTEGER NOT NULL CHECK (original_cents > 0),
    remaining_cents     INTEGER NOT NULL,
    expires_at          INTEGER,
    created_at          INTEGER NOT NULL,
    CHECK (remaining_cents BETWEEN 0 AND original_cents),
    CHECK (kind = 'promotional' OR categories = 15)
);
CREATE INDEX credits_by_user ON credits (user_id, kind);

-- The append-only ledger of every change to a credit. amount_cents is the signed
-- change to remaining_cents: grant and refund add, spend takes, adjust does either.
CREATE TABLE credit_events (
    id            INTEGER PRIMARY KEY,
    credit_id     INTEGER NOT NULL REFERENCES credits (id),
    kind          TEXT    NOT NULL CHECK (kind IN ('grant', 'spend', 'refund', 'adjust')),
    amount_cents  INTEGER NOT NULL,
    order_id      INTEGER REFERENCES orders (id),
    note          TEXT,
    created_at    INTEGER NOT NULL,
    CHECK (
        (kind IN ('grant', 'refund') AND amount_cents > 0) OR
        (kind = 'spend' AND amount_cents < 0 AND order_id IS NOT NULL) OR
        (kind = 'adjust' AND amount_cents <> 0)
    )
);
CREATE INDEX credit_events_by_credit ON credit_events (credit_id, id);
CREATE INDEX credit_events_by_order ON credit_events (order_id) WHERE order_id IS NOT NULL;

CREATE TRIGGER credit_events_are_never_updated
BEFORE UPDATE ON credit_events
BEGIN
    SELECT RAISE(ABORT, 'credit_events is append-only');
END;

CREATE TRIGGER credit_events_are_never_deleted
BEFORE DELETE ON credit_events
BEGIN
    SELECT RAISE(ABORT, 'credit_events is append-only');
END;

-- A saved discount: a share off one future purchase in some categories. Never shown
-- in the balance popup.
CREATE TABLE discounts (
    id                  INTEGER PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    description         TEXT    NOT NULL,
    percent_off         INTEGER CHECK (percent_off BETWEEN 1 AND 100),
    amount_off_cents    INTEGER CHECK (amount_off_cents > 0),
    categories          INTEGER NOT NULL CHECK (categories BETWEEN 1 AND 15),
    code_redemption_id  INTEGER REFERENCES code_redemptions (id),
    used_by_order_id    INTEGER REFERENCES orders (id),
    expires_at          INTEGER,
    created_at          INTEGER NOT NULL,
    CHECK ((percent_off IS NULL) <> (amount_off_cents IS NULL))
);
CREATE INDEX discounts_by_user ON discounts (user_id);
