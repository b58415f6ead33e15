CREATE TABLE "legacy_refresh_tokens" (
	"jti" text PRIMARY KEY NOT NULL,
	"user_id" integer NOT NULL,
	"traded_at" timestamp with time zone DEFAULT now() NOT NULL
);
