ALTER TABLE "votes" DROP CONSTRAINT "votes_user_id_users_id_fk";
--> statement-breakpoint
ALTER TABLE "votes" DROP CONSTRAINT "votes_content_id_contents_id_fk";
--> statement-breakpoint
DROP INDEX "votes_content_id_idx";--> statement-breakpoint
ALTER TABLE "votes" ALTER COLUMN "version" SET DATA TYPE bigint;--> statement-breakpoint
ALTER TABLE "votes" ADD COLUMN "prev_score" smallint;