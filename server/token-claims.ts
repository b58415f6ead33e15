import { tokenInvalid } from './errors.js'
import { MAX_ID } from '../shared/ids.js'

/** A user id from a token's claim (tally's `sub`, simplejwt's `user_id`): a number or its digits, never 0 or past MAX_ID. */
export function userIdOf(value: unknown): number {
  const text = typeof value === 'number' ? String(value) : value
  const id = typeof text === 'string' && /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(id) || id > MAX_ID) throw tokenInvalid()
  return id
}
