-- The pop-up's five balances read only these columns of an account's credits. An
-- index holding all of them answers that query from the index alone, without a
-- table lookup per credit. Its first two columns are the old index's, so every
-- query that used credits_by_user uses this one.
DROP INDEX credits_by_user;
CREATE INDEX credits_by_user_covering ON credits (user_id, kind, categories, remaining_cents, expires_at);
