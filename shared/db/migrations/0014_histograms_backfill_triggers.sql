-- Histograms, the global histogram and the rank keys of migration 0013, filled from what is there, and the SQL they
-- are computed with. shared/ranking.ts computes the same two scores in TypeScript for the reads; its tests hold the two
-- to each other.
--
-- bayesian_average = (m·C + sum) / (m + count): the mean, pulled towards the mean C of every vote by m imagined votes.
CREATE FUNCTION "tally_bayesian_average"("vote_sum" bigint, "vote_count" integer, "prior_mean" double precision,
  "prior_weight" double precision) RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN "prior_weight" + "vote_count" > 0
    THEN ("prior_weight" * "prior_mean" + "vote_sum") / ("prior_weight" + "vote_count") ELSE "prior_mean" END
$$;
--> statement-breakpoint
-- Evan Miller's lower bound over the six scores ("Ranking items with star ratings"): with one imagined vote per score,
-- S = Σ k·(n_k + 1) / (N + 6), and the bound is S − z·sqrt((Σ k²·(n_k + 1) / (N + 6) − S²) / (N + 7)).
-- The sums are exact integers before the one division, as in shared/ranking.ts.
CREATE FUNCTION "tally_rating_lower_bound"("v0" integer, "v1" integer, "v2" integer, "v3" integer, "v4" integer, "v5" integer,
  "z" double precision) RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT s - "z" * sqrt(greatest(s2 - s * s, 0) / (n + 1))
  FROM (SELECT n, m1 / n AS s, m2 / n AS s2 FROM (SELECT
    ("v0" + "v1" + "v2" + "v3" + "v4" + "v5" + 6)::float8 AS n,
    (("v1" + 1) + 2 * ("v2" + 1)::int8 + 3 * ("v3" + 1)::int8 + 4 * ("v4" + 1)::int8 + 5 * ("v5" + 1)::int8)::float8 AS m1,
    (("v1" + 1) + 4 * ("v2" + 1)::int8 + 9 * ("v3" + 1)::int8 + 16 * ("v4" + 1)::int8 + 25 * ("v5" + 1)::int8)::float8 AS m2) sums) moments
$$;
--> statement-breakpoint
UPDATE "contents" c SET "votes_0" = h.v0, "votes_1" = h.v1, "votes_2" = h.v2, "votes_3" = h.v3, "votes_4" = h.v4, "votes_5" = h.v5
FROM (SELECT "content_id", count(*) FILTER (WHERE "score" = 0) AS v0, count(*) FILTER (WHERE "score" = 1) AS v1,
  count(*) FILTER (WHERE "score" = 2) AS v2, count(*) FILTER (WHERE "score" = 3) AS v3,
  count(*) FILTER (WHERE "score" = 4) AS v4, count(*) FILTER (WHERE "score" = 5) AS v5
  FROM "votes" GROUP BY "content_id") h
WHERE c."id" = h."content_id";
--> statement-breakpoint
INSERT INTO "score_totals" ("slot", "votes_0", "votes_1", "votes_2", "votes_3", "votes_4", "votes_5")
SELECT 0, coalesce(sum("votes_0"), 0), coalesce(sum("votes_1"), 0), coalesce(sum("votes_2"), 0), coalesce(sum("votes_3"), 0),
  coalesce(sum("votes_4"), 0), coalesce(sum("votes_5"), 0) FROM "contents";
--> statement-breakpoint
-- The first prior: C from the votes there are (2.5, the middle of the scale, without any), and the settings' defaults;
-- a consumer replaces it with its own settings when they differ (consumer/rankings.ts).
INSERT INTO "ranking_prior" ("mean", "weight", "z", "votes")
SELECT CASE WHEN n > 0 THEN s::float8 / n ELSE 2.5 END, 10, 1.65, n
FROM (SELECT coalesce(sum("vote_count"), 0) AS n, coalesce(sum("vote_sum"), 0) AS s FROM "contents") t;
--> statement-breakpoint
UPDATE "contents" c SET "rank_vote_count" = c."vote_count",
  "rank_average_vote" = CASE WHEN c."vote_count" > 0 THEN c."vote_sum"::float8 / c."vote_count" ELSE -1 END,
  "rank_bayesian_average" = tally_bayesian_average(c."vote_sum", c."vote_count", p."mean", p."weight"),
  "rank_rating_lower_bound" = tally_rating_lower_bound(c."votes_0", c."votes_1", c."votes_2", c."votes_3", c."votes_4", c."votes_5", p."z")
FROM "ranking_prior" p;
--> statement-breakpoint
-- A new content takes its place in every ordering at once, with the prior in force (its histogram is usually empty;
-- bench worlds insert contents with their counts). One row read per insert: contents are created one at a time.
CREATE FUNCTION "contents_rank_keys_on_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  p "ranking_prior";
BEGIN
  SELECT * INTO p FROM "ranking_prior";
  NEW."rank_vote_count" := NEW."vote_count";
  NEW."rank_average_vote" := CASE WHEN NEW."vote_count" > 0 THEN NEW."vote_sum"::float8 / NEW."vote_count" ELSE -1 END;
  NEW."rank_bayesian_average" := tally_bayesian_average(NEW."vote_sum", NEW."vote_count", coalesce(p."mean", 2.5), coalesce(p."weight", 10));
  NEW."rank_rating_lower_bound" := tally_rating_lower_bound(NEW."votes_0", NEW."votes_1", NEW."votes_2", NEW."votes_3", NEW."votes_4",
    NEW."votes_5", coalesce(p."z", 1.65));
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER "contents_rank_keys_insert" BEFORE INSERT ON "contents"
  FOR EACH ROW EXECUTE FUNCTION "contents_rank_keys_on_insert"();
--> statement-breakpoint
-- Migration 0005's cascades, now keeping the histograms too: a deleted user's votes leave their contents' counts,
-- sums and histograms, and the global histogram loses what those contents lost (taken votes back: score null, none).
-- A deleted content's histogram leaves the global one. The invariant npm run audit checks: score_totals summed equals
-- the contents' histograms summed, which equal the votes rows.
CREATE OR REPLACE FUNCTION "votes_delete_of_users"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH gone AS (DELETE FROM "votes" v USING deleted d WHERE v."user_id" = d."id" RETURNING v."content_id", v."score"),
  lost AS (
    SELECT "content_id", count("score")::int AS n, coalesce(sum("score"), 0) AS s,
      count(*) FILTER (WHERE "score" = 0)::int AS v0, count(*) FILTER (WHERE "score" = 1)::int AS v1,
      count(*) FILTER (WHERE "score" = 2)::int AS v2, count(*) FILTER (WHERE "score" = 3)::int AS v3,
      count(*) FILTER (WHERE "score" = 4)::int AS v4, count(*) FILTER (WHERE "score" = 5)::int AS v5
    FROM gone GROUP BY "content_id"
  ), bumped AS (
    UPDATE "contents" c SET "vote_count" = c."vote_count" - g.n, "vote_sum" = c."vote_sum" - g.s,
      "votes_0" = c."votes_0" - g.v0, "votes_1" = c."votes_1" - g.v1, "votes_2" = c."votes_2" - g.v2,
      "votes_3" = c."votes_3" - g.v3, "votes_4" = c."votes_4" - g.v4, "votes_5" = c."votes_5" - g.v5
    FROM lost g WHERE c."id" = g."content_id" AND g.n > 0
    RETURNING g.v0, g.v1, g.v2, g.v3, g.v4, g.v5
  )
  INSERT INTO "score_totals" AS t ("slot", "votes_0", "votes_1", "votes_2", "votes_3", "votes_4", "votes_5")
  SELECT (pg_backend_pid() % 16)::smallint, -sum(v0), -sum(v1), -sum(v2), -sum(v3), -sum(v4), -sum(v5) FROM bumped HAVING count(*) > 0
  ON CONFLICT ("slot") DO UPDATE SET "votes_0" = t."votes_0" + excluded."votes_0", "votes_1" = t."votes_1" + excluded."votes_1",
    "votes_2" = t."votes_2" + excluded."votes_2", "votes_3" = t."votes_3" + excluded."votes_3",
    "votes_4" = t."votes_4" + excluded."votes_4", "votes_5" = t."votes_5" + excluded."votes_5";
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "votes_delete_of_contents"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "votes" v USING deleted d WHERE v."content_id" = d."id";
  INSERT INTO "score_totals" AS t ("slot", "votes_0", "votes_1", "votes_2", "votes_3", "votes_4", "votes_5")
  SELECT (pg_backend_pid() % 16)::smallint, -sum("votes_0"), -sum("votes_1"), -sum("votes_2"), -sum("votes_3"), -sum("votes_4"),
    -sum("votes_5") FROM deleted HAVING sum("vote_count") > 0
  ON CONFLICT ("slot") DO UPDATE SET "votes_0" = t."votes_0" + excluded."votes_0", "votes_1" = t."votes_1" + excluded."votes_1",
    "votes_2" = t."votes_2" + excluded."votes_2", "votes_3" = t."votes_3" + excluded."votes_3",
    "votes_4" = t."votes_4" + excluded."votes_4", "votes_5" = t."votes_5" + excluded."votes_5";
  RETURN NULL;
END $$;
