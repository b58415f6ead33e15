import { usernameKey } from '../shared/usernames.js'

/**
 * Django kept usernames unique as typed ("Alice" and "alice" are two accounts); tally keeps them unique
 * under NFKC + case folding (shared/usernames.ts). Users whose names fold to one key collide: the import
 * never merges them silently. The first (lowest id, usually the oldest account) keeps its name; each
 * later one is, by the policy, refused (the import stops), skipped (it and its votes are left out), or
 * renamed with the first free suffix `_2`, `_3`, … (its key checked against every name too).
 */
export type CollisionPolicy = 'refuse' | 'suffix' | 'skip'

export interface ImportedName { id: number; username: string }
export interface Collision {
  id: number; username: string; collidesWith: number; resolution: 'refused' | 'skipped' | 'renamed'; renamedTo?: string
}

export interface NamePlan {
  /** id → the username and key to write. */
  names: Map<number, { username: string; key: string }>
  skipped: Set<number>
  collisions: Collision[]
}

const MAX_USERNAME = 150

/**
 * `users` in id order. `taken` holds keys already used in the target by other ids (a tally user registered
 * before the import), and is extended as names are given out.
 */
export function planNames(users: Iterable<ImportedName>, policy: CollisionPolicy, taken: Map<string, number> = new Map()): NamePlan {
  const names = new Map<number, { username: string; key: string }>()
  const skipped = new Set<number>()
  const collisions: Collision[] = []
  // First every account that keeps its own name, so a rename never takes the real name of a later account.
  const later: { user: ImportedName; holder: number }[] = []
  for (const user of users) {
    const key = usernameKey(user.username)
    const holder = taken.get(key)
    if (holder === undefined || holder === user.id) {
      taken.set(key, user.id)
      names.set(user.id, { username: user.username, key })
    } else {
      later.push({ user, holder })
    }
  }
  for (const { user, holder } of later) {
    if (policy === 'refuse') {
      collisions.push({ ...user, collidesWith: holder, resolution: 'refused' })
    } else if (policy === 'skip') {
      skipped.add(user.id)
      collisions.push({ ...user, collidesWith: holder, resolution: 'skipped' })
    } else {
      let n = 2
      let renamed: string
      let renamedKey: string
      do {
        const suffix = `_${n++}`
        renamed = user.username.slice(0, MAX_USERNAME - suffix.length) + suffix
        renamedKey = usernameKey(renamed)
      } while (taken.has(renamedKey) && taken.get(renamedKey) !== user.id)
      taken.set(renamedKey, user.id)
      names.set(user.id, { username: renamed, key: renamedKey })
      collisions.push({ ...user, collidesWith: holder, resolution: 'renamed', renamedTo: renamed })
    }
  }
  return { names, skipped, collisions }
}
