-- What an order asked for (product and promotion), in the canonical form
-- `product=3;code=ALBUM-20-OFF` or `product=3;discount=7`, so a reused idempotency
-- key can be told from a retry of the same order (SPEC §6). Orders placed before
-- this column hold NULL and are matched by their product alone.
ALTER TABLE orders ADD COLUMN request TEXT;
