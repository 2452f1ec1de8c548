-- Partial refunds (issue 25): an order may be refunded in several parts up to what
-- was paid for it (credits and card). `refunded_cents` is what its refunds have
-- covered so far, moved by one conditional UPDATE per refund, so refunds at once
-- never pass the total; `refunded_at` is set once it is wholly refunded.
ALTER TABLE orders ADD COLUMN refunded_cents INTEGER NOT NULL DEFAULT 0
    CHECK (refunded_cents BETWEEN 0 AND promotional_credit_cents + gift_card_cents + card_cents);
UPDATE orders SET refunded_cents = promotional_credit_cents + gift_card_cents + card_cents
WHERE refunded_at IS NOT NULL;

-- One row per refund: how much of the order it covered, what went to the card,
-- what it withheld (shares of credits revoked since), why and who.
CREATE TABLE refunds (
    id              INTEGER PRIMARY KEY,
    order_id        INTEGER NOT NULL REFERENCES orders (id),
    amount_cents    INTEGER NOT NULL CHECK (amount_cents >= 0),
    card_cents      INTEGER NOT NULL CHECK (card_cents >= 0),
    card_label      TEXT,
    withheld_cents  INTEGER NOT NULL CHECK (withheld_cents BETWEEN 0 AND amount_cents),
    reason          TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    refunded_at     INTEGER NOT NULL,
    CHECK (card_cents = 0 OR card_label IS NOT NULL),
    CHECK (card_cents + withheld_cents <= amount_cents)
);
CREATE INDEX refunds_by_order ON refunds (order_id, id);

-- The whole-order refunds made before: one refund each, with its card part.
INSERT INTO refunds (order_id, amount_cents, card_cents, card_label, withheld_cents, reason, actor, refunded_at)
SELECT o.id, o.promotional_credit_cents + o.gift_card_cents + o.card_cents,
       COALESCE(r.amount_cents, 0), r.card_label, 0,
       'refunded before refunds kept a reason', 'unknown', o.refunded_at
FROM orders o LEFT JOIN card_refunds r ON r.order_id = o.id
WHERE o.refunded_at IS NOT NULL
ORDER BY o.refunded_at, o.id;

DROP TABLE card_refunds;
