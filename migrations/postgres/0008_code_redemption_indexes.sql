-- Who redeemed a code, newest first, and what each redemption gave (the console's
-- code page, following a leaked code): a code's redemptions by id, and the credit
-- or discount a redemption made.
CREATE INDEX code_redemptions_by_code_newest ON code_redemptions (code_id, id);
CREATE INDEX credits_by_code_redemption ON credits (code_redemption_id) WHERE code_redemption_id IS NOT NULL;
CREATE INDEX discounts_by_code_redemption ON discounts (code_redemption_id) WHERE code_redemption_id IS NOT NULL;
