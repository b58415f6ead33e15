-- tally_rating_lower_bound as one expression, with no FROM: PostgreSQL inlines such a SQL function into the query
-- that calls it. Migration 0014's version had subqueries, so every call ran through the SQL-function executor: the
-- re-ranker spent about 45 µs per row computing keys it then found unchanged. The same operations in the same order
-- as before and as shared/ranking.ts, so the doubles are the same (shared/ranking.test.ts).
CREATE OR REPLACE FUNCTION "tally_rating_lower_bound"("v0" integer, "v1" integer, "v2" integer, "v3" integer, "v4" integer,
  "v5" integer, "z" double precision) RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT
    (("v1" + 1) + 2 * ("v2" + 1)::int8 + 3 * ("v3" + 1)::int8 + 4 * ("v4" + 1)::int8 + 5 * ("v5" + 1)::int8)::float8
      / ("v0" + "v1" + "v2" + "v3" + "v4" + "v5" + 6)::float8
    - "z" * sqrt(greatest(
      (("v1" + 1) + 4 * ("v2" + 1)::int8 + 9 * ("v3" + 1)::int8 + 16 * ("v4" + 1)::int8 + 25 * ("v5" + 1)::int8)::float8
        / ("v0" + "v1" + "v2" + "v3" + "v4" + "v5" + 6)::float8
      - ((("v1" + 1) + 2 * ("v2" + 1)::int8 + 3 * ("v3" + 1)::int8 + 4 * ("v4" + 1)::int8 + 5 * ("v5" + 1)::int8)::float8
        / ("v0" + "v1" + "v2" + "v3" + "v4" + "v5" + 6)::float8)
      * ((("v1" + 1) + 2 * ("v2" + 1)::int8 + 3 * ("v3" + 1)::int8 + 4 * ("v4" + 1)::int8 + 5 * ("v5" + 1)::int8)::float8
        / ("v0" + "v1" + "v2" + "v3" + "v4" + "v5" + 6)::float8), 0)
      / (("v0" + "v1" + "v2" + "v3" + "v4" + "v5" + 6)::float8 + 1))
$$;
