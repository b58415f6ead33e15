CREATE TABLE "recorded_entries" (
	"stream" text NOT NULL,
	"version" bigint NOT NULL,
	CONSTRAINT "recorded_entries_pkey" PRIMARY KEY("version","stream")
);
--> statement-breakpoint
CREATE TABLE "stream_horizons" (
	"stream" text PRIMARY KEY NOT NULL,
	"recorded_below" bigint NOT NULL
);
