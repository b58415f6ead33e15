// `npm run build`: tsc emits JavaScript only; the Lua scripts and SQL migrations are read at run time
// from beside the compiled modules, so they are copied into dist/ with the same layout.
import { cpSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
for (const file of readdirSync(join(root, 'shared/redis')).filter((f) => f.endsWith('.lua'))) {
  cpSync(join(root, 'shared/redis', file), join(root, 'dist/shared/redis', file))
}
cpSync(join(root, 'shared/db/migrations'), join(root, 'dist/shared/db/migrations'), { recursive: true })
