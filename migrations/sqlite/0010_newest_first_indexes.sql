-- Order history and credit activity are read a page at a time, newest first (by
-- id): these indexes give each page in one range read, whatever the history's
-- length.
CREATE INDEX orders_by_user_newest ON orders (user_id, id);
CREATE INDEX credits_by_user_newest ON credits (user_id, id);
