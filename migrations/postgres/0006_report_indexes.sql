-- Reports (issue 26; the SQLite engine's 0016): what a year of a busy store needs to answer in under a second.
-- Sales per day read the orders of a range without touching the table.
CREATE INDEX orders_by_placed_at ON orders (placed_at, price_cents, discount_cents,
    promotional_credit_cents, gift_card_cents, card_cents);
CREATE INDEX refunds_by_refunded_at ON refunds (refunded_at, amount_cents, withheld_cents, card_cents);
-- A credit's balance at any instant, summed from its ledger without the table.
CREATE INDEX credit_events_by_credit_and_time ON credit_events (credit_id, created_at, amount_cents);
-- The ledger read from its recent end: the events since a day, per credit (a
-- balance then is the balance now less them), and a day's movements (the dashboard).
CREATE INDEX credit_events_by_time ON credit_events (created_at, credit_id, kind, amount_cents);
-- Credits expired by a day.
CREATE INDEX credits_by_expiry ON credits (expires_at) WHERE expires_at IS NOT NULL;
-- A code's redemptions in a range, and what each granted.
CREATE INDEX code_redemptions_by_code_and_time ON code_redemptions (code_id, redeemed_at);
CREATE INDEX credits_by_code_redemption ON credits (code_redemption_id) WHERE code_redemption_id IS NOT NULL;
CREATE INDEX discounts_by_code_redemption ON discounts (code_redemption_id) WHERE code_redemption_id IS NOT NULL;
-- Discounts by the order that used them (a code's discounts in a range).
CREATE INDEX discounts_by_order ON discounts (used_by_order_id) WHERE used_by_order_id IS NOT NULL;
