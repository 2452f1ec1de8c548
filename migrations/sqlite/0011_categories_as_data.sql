-- Categories are data (SPEC §6): the departments are rows of `categories`, and the
-- categories a credit, code or discount is valid for are rows referencing them
-- instead of a four-bit mask. The four seeded ids are the old mask's bits in order
-- (music = 1, kindle = 2, video = 4, software = 8 → ids 1 to 4), which is how the
-- masks below become rows. Runs with foreign keys off (the store checks them all
-- after migrating), as SQLite's way of rebuilding a table asks.

CREATE TABLE categories (
    id        INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 64),  -- a set keeps one bit per id
    slug      TEXT    NOT NULL UNIQUE CHECK (
                  length(slug) BETWEEN 1 AND 32
                  AND slug NOT GLOB '*[^a-z0-9-]*'
                  AND slug GLOB '[a-z0-9]*' AND slug GLOB '*[a-z0-9]'
                  AND slug NOT IN ('gift-card', 'all')),         -- reserved: see CategorySlug
    label     TEXT    NOT NULL CHECK (length(label) BETWEEN 1 AND 40),
    position  INTEGER NOT NULL UNIQUE                             -- display order
);
INSERT INTO categories (id, slug, label, position) VALUES
    (1, 'music', 'Digital Music', 1),
    (2, 'kindle', 'Kindle', 2),
    (3, 'video', 'Instant Video', 3),
    (4, 'software', 'Software', 4);

-- Products: the category becomes a reference.
CREATE TABLE products_new (
    id           INTEGER PRIMARY KEY,
    category_id  INTEGER NOT NULL REFERENCES categories (id),
    format       TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    creator      TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    price_cents  INTEGER NOT NULL CHECK (price_cents > 0),
    featured     INTEGER NOT NULL DEFAULT 0 CHECK (featured IN (0, 1))
);
INSERT INTO products_new (id, category_id, format, title, creator, description, price_cents, featured)
    SELECT p.id, k.id, p.format, p.title, p.creator, p.description, p.price_cents, p.featured
    FROM products p JOIN categories k ON k.slug = p.category;
DROP TABLE products;
ALTER TABLE products_new RENAME TO products;
CREATE INDEX products_by_category ON products (category_id, title);

-- Credits: a promotional credit's categories move to credit_categories; a gift card
-- has none (it pays for every category, those added later too).
CREATE TABLE credit_categories (
    credit_id    INTEGER NOT NULL REFERENCES credits (id),
    category_id  INTEGER NOT NULL REFERENCES categories (id),
    PRIMARY KEY (credit_id, category_id)
) WITHOUT ROWID;
INSERT INTO credit_categories (credit_id, category_id)
    SELECT c.id, k.id FROM credits c JOIN categories k ON (c.categories >> (k.id - 1)) & 1 = 1
    WHERE c.kind = 'promotional';

CREATE TABLE credits_new (
    id                  INTEGER PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users (id),
    kind                TEXT    NOT NULL CHECK (kind IN ('promotional', 'gift_card')),
    category_mask       INTEGER NOT NULL DEFAULT 0,  -- kept by the triggers below
    source              TEXT    NOT NULL CHECK (source IN ('promo_code', 'gift_card_code', 'refund', 'grant')),
    description         TEXT    NOT NULL,
    code_redemption_id  INTEGER REFERENCES code_redemptions (id),
    original_cents      INTEGER NOT NULL CHECK (original_cents > 0),
    remaining_cents     INTEGER NOT NULL,
    expires_at          INTEGER,
    created_at          INTEGER NOT NULL,
    CHECK (remaining_cents BETWEEN 0 AND original_cents)
);
INSERT INTO credits_new (id, user_id, kind, category_mask, source, description, code_redemption_id,
                         original_cents, remaining_cents, expires_at, created_at)
    SELECT id, user_id, kind, CASE kind WHEN 'promotional' THEN categories ELSE 0 END,
           source, description, code_redemption_id,
           original_cents, remaining_cents, expires_at, created_at
    FROM credits;
DROP TABLE credits;
ALTER TABLE credits_new RENAME TO credits;
CREATE INDEX credits_by_user_newest ON credits (user_id, id);

-- A credit's categories are its rows in credit_categories. The pop-up reads them from
-- category_mask instead (bit id - 1 per category), which this index covers, so it
-- needs no join; the database keeps the mask equal to the rows, which never change.
CREATE INDEX credits_by_user_covering ON credits (user_id, kind, category_mask, remaining_cents, expires_at);
CREATE TRIGGER credit_categories_fill_the_mask
AFTER INSERT ON credit_categories
BEGIN
    UPDATE credits SET category_mask = category_mask | (1 << (NEW.category_id - 1))
    WHERE id = NEW.credit_id;
END;
CREATE TRIGGER credit_categories_are_never_updated
BEFORE UPDATE ON credit_categories
BEGIN
    SELECT RAISE(ABORT, 'a credit''s categories never change');
END;
CREATE TRIGGER credit_categories_are_never_deleted
BEFORE DELETE ON credit_categories
BEGIN
    SELECT RAISE(ABORT, 'a credit''s categories never change');
END;
CREATE TRIGGER credits_mask_follows_the_categories
BEFORE UPDATE OF category_mask ON credits
WHEN NEW.category_mask <> (
    SELECT COALESCE(SUM(1 << (k.category_id - 1)), 0) FROM credit_categories k WHERE k.credit_id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'category_mask is kept by the database');
END;

-- Codes: a credit or discount code's categories move to code_categories.
CREATE TABLE code_categories (
    code_id      INTEGER NOT NULL REFERENCES codes (id),
    category_id  INTEGER NOT NULL REFERENCES categories (id),
    PRIMARY KEY (code_id, category_id)
) WITHOUT ROWID;
INSERT INTO code_categories (code_id, category_id)
    SELECT c.id, k.id FROM codes c JOIN categories k ON (c.categories >> (k.id - 1)) & 1 = 1
    WHERE c.kind IN ('credit', 'discount');

CREATE TABLE codes_new (
    id                INTEGER PRIMARY KEY,
    code              TEXT    NOT NULL UNIQUE,  -- normalised: trimmed, upper-case
    kind              TEXT    NOT NULL CHECK (kind IN ('credit', 'gift_card', 'discount')),
    description       TEXT    NOT NULL,
    amount_cents      INTEGER CHECK (amount_cents > 0),
    percent_off       INTEGER CHECK (percent_off BETWEEN 1 AND 100),
    valid_days        INTEGER CHECK (valid_days > 0),   -- credit lifetime after redemption
    redeem_by         INTEGER,                          -- redemption deadline
    max_redemptions   INTEGER CHECK (max_redemptions > 0),
    redemptions       INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    CHECK (max_redemptions IS NULL OR redemptions <= max_redemptions),
    CHECK (redemptions >= 0),
    CHECK (
        (kind = 'credit'    AND amount_cents IS NOT NULL AND percent_off IS NULL) OR
        (kind = 'gift_card' AND amount_cents IS NOT NULL AND percent_off IS NULL) OR
        (kind = 'discount'  AND (amount_cents IS NULL) <> (percent_off IS NULL))
    )
);
INSERT INTO codes_new (id, code, kind, description, amount_cents, percent_off, valid_days,
                       redeem_by, max_redemptions, redemptions, created_at, active)
    SELECT id, code, kind, description, amount_cents, percent_off, valid_days,
           redeem_by, max_redemptions, redemptions, created_at, active
    FROM codes;
DROP TABLE codes;
ALTER TABLE codes_new RENAME TO codes;

-- Saved discounts: their categories move to discount_categories.
CREATE TABLE discount_categories (
    discount_id  INTEGER NOT NULL REFERENCES discounts (id) ON DELETE CASCADE,
    category_id  INTEGER NOT NULL REFERENCES categories (id),
    PRIMARY KEY (discount_id, category_id)
) WITHOUT ROWID;
INSERT INTO discount_categories (discount_id, category_id)
    SELECT d.id, k.id FROM discounts d JOIN categories k ON (d.categories >> (k.id - 1)) & 1 = 1;

CREATE TABLE discounts_new (
    id                  INTEGER PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    description         TEXT    NOT NULL,
    percent_off         INTEGER CHECK (percent_off BETWEEN 1 AND 100),
    amount_off_cents    INTEGER CHECK (amount_off_cents > 0),
    code_redemption_id  INTEGER REFERENCES code_redemptions (id),
    used_by_order_id    INTEGER REFERENCES orders (id),
    expires_at          INTEGER,
    created_at          INTEGER NOT NULL,
    CHECK ((percent_off IS NULL) <> (amount_off_cents IS NULL))
);
INSERT INTO discounts_new (id, user_id, description, percent_off, amount_off_cents,
                           code_redemption_id, used_by_order_id, expires_at, created_at)
    SELECT id, user_id, description, percent_off, amount_off_cents,
           code_redemption_id, used_by_order_id, expires_at, created_at
    FROM discounts;
DROP TABLE discounts;
ALTER TABLE discounts_new RENAME TO discounts;
CREATE INDEX discounts_by_user ON discounts (user_id);
