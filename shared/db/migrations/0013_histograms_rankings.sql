CREATE TABLE "ranking_prior" (
	"id" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"mean" double precision NOT NULL,
	"weight" double precision NOT NULL,
	"z" double precision NOT NULL,
	"votes" bigint NOT NULL,
	"refreshed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ranking_prior_one_row" CHECK ("ranking_prior"."id")
);
--> statement-breakpoint
CREATE TABLE "score_totals" (
	"slot" smallint PRIMARY KEY NOT NULL,
	"votes_0" bigint DEFAULT 0 NOT NULL,
	"votes_1" bigint DEFAULT 0 NOT NULL,
	"votes_2" bigint DEFAULT 0 NOT NULL,
	"votes_3" bigint DEFAULT 0 NOT NULL,
	"votes_4" bigint DEFAULT 0 NOT NULL,
	"votes_5" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "votes" ALTER COLUMN "score" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "contents" ADD COLUMN "votes_0" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "contents" ADD COLUMN "votes_1" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "contents" ADD COLUMN "votes_2" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "contents" ADD COLUMN "votes_3" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "contents" ADD COLUMN "votes_4" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "contents" ADD COLUMN "votes_5" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "contents" ADD COLUMN "rank_vote_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "contents" ADD COLUMN "rank_average_vote" double precision DEFAULT -1 NOT NULL;--> statement-breakpoint
ALTER TABLE "contents" ADD COLUMN "rank_bayesian_average" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "contents" ADD COLUMN "rank_rating_lower_bound" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "contents_rank_vote_count_idx" ON "contents" USING btree ("rank_vote_count" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "contents_rank_average_vote_idx" ON "contents" USING btree ("rank_average_vote" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "contents_rank_bayesian_average_idx" ON "contents" USING btree ("rank_bayesian_average" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "contents_rank_rating_lower_bound_idx" ON "contents" USING btree ("rank_rating_lower_bound" DESC NULLS LAST,"id" DESC NULLS LAST);