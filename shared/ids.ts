/**
 * The largest user or content id: ids are PostgreSQL `integer` columns (shared/db/schema.ts), 2^31 - 1 at
 * most. A larger id can name no row, so the API answers it as a bad request (400), not as a missing one
 * (404), and the consumer refuses a stream entry that carries one. Its own module, free of drizzle, so the
 * pure code that checks ids (consumer/decode.ts, server/reads/cursor.ts) imports a number and nothing else.
 */
export const MAX_ID = 2_147_483_647
