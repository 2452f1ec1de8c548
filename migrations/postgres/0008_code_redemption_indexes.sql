-- Who redeemed a code, newest first (the console's code page, following a leaked
-- code). The credit or discount each redemption made is found through the indexes
-- of the reports' migration.
CREATE INDEX code_redemptions_by_code_newest ON code_redemptions (code_id, id);
