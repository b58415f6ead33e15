CREATE TABLE "recorded_batches" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "recorded_batches_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"stream" text NOT NULL,
	"consumer" text NOT NULL,
	"entries" bigint[] NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stream_baselines" (
	"stream" text PRIMARY KEY NOT NULL,
	"offset" bigint NOT NULL,
	"set_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stream_entries" (
	"stream" text NOT NULL,
	"consumer" text NOT NULL,
	"recorded" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "stream_entries_pkey" PRIMARY KEY("stream","consumer")
);
--> statement-breakpoint
CREATE INDEX "recorded_batches_stream_idx" ON "recorded_batches" USING btree ("stream");