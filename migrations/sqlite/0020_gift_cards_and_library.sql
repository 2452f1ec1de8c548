-- Gift cards for sale and "Your library" (SPEC §9, issue 28).
--
-- An order is for a product, or (with no product) for a gift card: its card row
-- below says for whom and when. SQLite cannot drop a NOT NULL, so the orders
-- table is rebuilt with the same columns, keys and checks (foreign keys are off
-- while migrations run, and checked before this one commits).
CREATE TABLE orders_rebuilt (
    id                        INTEGER PRIMARY KEY,
    user_id                   INTEGER NOT NULL REFERENCES users (id),
    product_id                INTEGER REFERENCES products (id),  -- NULL: a gift card
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
    request                   TEXT,
    code_note                 TEXT,
    refunded_cents            INTEGER NOT NULL DEFAULT 0
        CHECK (refunded_cents BETWEEN 0 AND promotional_credit_cents + gift_card_cents + card_cents),
    UNIQUE (user_id, idempotency_key),            -- a double submit is one order
    CHECK (price_cents = discount_cents + promotional_credit_cents + gift_card_cents + card_cents),
    CHECK (card_cents = 0 OR card_label IS NOT NULL),
    -- A gift card is paid by card alone, never with credit or a discount.
    CHECK (product_id IS NOT NULL OR card_cents = price_cents)
);
INSERT INTO orders_rebuilt (id, user_id, product_id, idempotency_key, price_cents, discount_cents,
                            promotional_credit_cents, gift_card_cents, card_cents, card_label, promotion,
                            placed_at, refunded_at, request, code_note, refunded_cents)
SELECT id, user_id, product_id, idempotency_key, price_cents, discount_cents,
       promotional_credit_cents, gift_card_cents, card_cents, card_label, promotion,
       placed_at, refunded_at, request, code_note, refunded_cents
FROM orders;
DROP TABLE orders;
ALTER TABLE orders_rebuilt RENAME TO orders;
CREATE INDEX orders_by_user ON orders (user_id, placed_at DESC);
CREATE INDEX orders_by_user_newest ON orders (user_id, id);
CREATE INDEX orders_by_placed_at ON orders (placed_at, price_cents, discount_cents,
    promotional_credit_cents, gift_card_cents, card_cents);

-- A gift card bought in the store: its order, the one-redemption code it made,
-- who it is for, and the message that delivers it (queued when it was bought,
-- due on the delivery day). A refund before redemption voids the code.
CREATE TABLE gift_cards (
    order_id         INTEGER PRIMARY KEY REFERENCES orders (id),
    code_id          INTEGER NOT NULL UNIQUE REFERENCES codes (id),
    amount_cents     INTEGER NOT NULL CHECK (amount_cents BETWEEN 500 AND 50000 AND amount_cents % 100 = 0),
    recipient_email  TEXT    NOT NULL,
    message          TEXT    NOT NULL,
    deliver_at       INTEGER NOT NULL,              -- when the message is due
    mail_id          INTEGER NOT NULL REFERENCES outbox (id),
    voided_at        INTEGER
);

-- The file each product delivers, relative to the media folder (`--media-dir`).
ALTER TABLE products ADD COLUMN media_file TEXT;

-- Every download from "Your library", for the daily limit per item and the
-- shopper's own activity.
CREATE TABLE downloads (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id),
    order_id       INTEGER NOT NULL REFERENCES orders (id),
    downloaded_at  INTEGER NOT NULL
);
CREATE INDEX downloads_by_order ON downloads (order_id, downloaded_at);
CREATE INDEX downloads_by_user ON downloads (user_id, id);
