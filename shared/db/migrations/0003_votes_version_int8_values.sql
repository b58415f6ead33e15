-- votes.version moves from numeric(40,0) = ms * 2^64 + seq to bigint = ms * 2^21 + seq (the next migration
-- changes the type). Here, still in numeric, every stored version is rewritten into the new encoding, so the
-- type change that follows is a plain, exact cast.
-- Order is kept exactly: ms stays the high part, and a stored seq of 2^21 or more (never written by Redis in
-- practice: two million entries in one millisecond) becomes 2^21 - 1, which the consumer can still compare
-- with every id it accepts (it refuses seq >= 2^21): an entry of the same ms is older or equal either way, so
-- it stays a no-op, as before. A stored ms of 2^42 or more (after the year 2109) fails the cast below loudly.
UPDATE "votes" SET "version" = div("version", 18446744073709551616) * 2097152
  + least(mod("version", 18446744073709551616), 2097151);
