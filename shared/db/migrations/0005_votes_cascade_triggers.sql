-- What ON DELETE CASCADE did for votes' two dropped foreign keys (migration 0004): deleting users or contents
-- deletes their votes, in the same transaction. Statement-level with transition tables, like the counter
-- triggers: one set-based DELETE per statement, however many rows it deletes. Without an index on
-- votes.content_id a content delete scans votes once per statement; nothing deletes contents today.
-- No vote escapes them, although consumer/apply.ts checks users and contents without foreign keys:
-- - contents: apply writes a vote only while holding its content's row FOR NO KEY UPDATE, which a DELETE
--   waits for. The delete either comes first (apply no longer finds the row: the vote is dead-lettered
--   unknown_content) or after the apply's commit, and then the trigger's DELETE, with a snapshot of its own,
--   sees the new votes and removes them.
-- - users: rather than have every batch lock each of its users' rows (FOR KEY SHARE, as the foreign key did
--   per vote; with several consumers every such row becomes a MultiXact), a DELETE of users first takes
--   votes in SHARE mode. That waits for every apply statement under way (each holds ROW EXCLUSIVE on votes
--   until its commit), whose votes the trigger then sees and removes; and an apply that starts meanwhile
--   waits for this commit before its statement's snapshot is taken, so it no longer finds the user: its
--   votes are dead-lettered unknown_user. (apply checks the users and writes the votes in one statement.)
-- Unlike the cascade, a user's delete also takes its votes off the contents' vote_count and vote_sum, so the
-- invariant `npm run audit` checks survives it (a deleted content takes its totals with it). Exact: under
-- the SHARE lock no apply can change votes meanwhile.
CREATE FUNCTION "votes_lock_for_users_delete"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  LOCK TABLE "votes" IN SHARE MODE;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "votes_delete_of_users"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH gone AS (DELETE FROM "votes" v USING deleted d WHERE v."user_id" = d."id" RETURNING v."content_id", v."score")
  UPDATE "contents" c SET "vote_count" = c."vote_count" - g.n, "vote_sum" = c."vote_sum" - g.s
  FROM (SELECT "content_id", count(*)::int AS n, sum("score") AS s FROM gone GROUP BY "content_id") g
  WHERE c."id" = g."content_id";
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "votes_delete_of_contents"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "votes" v USING deleted d WHERE v."content_id" = d."id";
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "users_delete_lock_votes" BEFORE DELETE ON "users"
  FOR EACH STATEMENT EXECUTE FUNCTION "votes_lock_for_users_delete"();
--> statement-breakpoint
CREATE TRIGGER "users_delete_votes" AFTER DELETE ON "users"
  REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION "votes_delete_of_users"();
--> statement-breakpoint
CREATE TRIGGER "contents_delete_votes" AFTER DELETE ON "contents"
  REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION "votes_delete_of_contents"();
