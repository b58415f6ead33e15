// drizzle-kit only (`npm run db:generate`); never imported at run time.
import { defineConfig } from 'drizzle-kit'

export default defineConfig({
  dialect: 'postgresql',
  schema: './shared/db/schema.ts',
  out: './shared/db/migrations',
})
