-- A code typed at checkout that did not change the order (a credit for other
-- categories) is still redeemed into the account; the receipt says so and why.
ALTER TABLE orders ADD COLUMN code_note TEXT;
