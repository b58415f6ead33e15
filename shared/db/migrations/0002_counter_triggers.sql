-- counters.contents = number of rows in contents, kept exact by statement-level triggers.
-- Statement-level with transition tables: a bulk insert of a million rows updates the counter once.
-- Invariant (checked by npm run audit): counters.contents = (select count(*) from contents).
INSERT INTO "counters" ("name", "value") SELECT 'contents', count(*) FROM "contents"
  ON CONFLICT ("name") DO UPDATE SET "value" = excluded."value";
--> statement-breakpoint
CREATE FUNCTION "contents_count_on_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "counters" SET "value" = "value" + (SELECT count(*) FROM inserted) WHERE "name" = 'contents';
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE FUNCTION "contents_count_on_delete"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "counters" SET "value" = "value" - (SELECT count(*) FROM deleted) WHERE "name" = 'contents';
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "contents_count_insert" AFTER INSERT ON "contents"
  REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION "contents_count_on_insert"();
--> statement-breakpoint
CREATE TRIGGER "contents_count_delete" AFTER DELETE ON "contents"
  REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION "contents_count_on_delete"();
