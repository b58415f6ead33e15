import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { RedisClient } from '../shared/redis/client.js'
import type { RedisKeys } from '../shared/redis/keys.js'
import { usernameKey } from '../shared/usernames.js'
import { clientNetwork } from './client-address.js'
import { rateLimited } from './errors.js'

/**
 * Failed logins limited per account, on top of the per-IP limit, so guesses spread over many addresses
 * still meet one limit per account (docs/api.md, "Rate limits and Retry-After", says the trade-off):
 * - from everywhere, `perAccount` (LOGIN_FAILURES_PER_ACCOUNT) per account; past it, only networks the account
 *   logged in from in the last KNOWN_NETWORK_MS keep trying. A stranger can so keep other strangers (and the
 *   user on a new network) out, each refusal until its window ends, but never the user's usual networks;
 * - from one client network (clientNetwork: an IPv4 address, an IPv6 /64), half of that per account, known
 *   network or not: the real user's own typos lock only their own network, and briefly.
 * Counted in fixed windows of FAILURE_WINDOW_MS in Redis, shared by every process. An attempt is counted
 * when it starts, before the password is verified (a refused one costs no argon2, and a burst of parallel
 * guesses cannot all pass before the first is counted), and given back when it turns out not to be a
 * failure: a success also clears its network's count and marks the network known.
 */
export const FAILURE_WINDOW_MS = 10 * 60_000
export const KNOWN_NETWORK_MS = 30 * 24 * 3_600_000

/** The answer a login gives to a wrong password (or an unknown or inactive account). */
const FAILED = 401

interface Attempt { failures: string; failuresFrom: string; knownNetwork: string }

export function loginThrottle(redis: RedisClient, keys: RedisKeys, perAccount: number) {
  const perNetwork = Math.max(1, Math.floor(perAccount / 2))
  // Attempts let through, until their reply: a WeakMap leaves every other request's shape alone.
  const attempts = new WeakMap<FastifyRequest, Attempt>()

  /** preHandler of the login route: the body is parsed and valid by now. */
  async function checkLogin(req: FastifyRequest) {
    const username = (req.body as { username?: unknown } | undefined)?.username
    if (typeof username !== 'string') return
    // A digest: bounded key names, and no typed usernames (often a password typed in the wrong box) in Redis.
    const account = createHash('sha256').update(usernameKey(username)).digest('base64url')
    const network = clientNetwork(req.ip)
    const attempt = {
      failures: keys.loginFailures(account),
      failuresFrom: keys.loginFailuresFrom(account, network),
      knownNetwork: keys.loginKnownNetwork(account, network),
    }
    let replies: [Error | null, unknown][] | null
    try {
      replies = await redis.multi()
        .incr(attempt.failures).pexpire(attempt.failures, FAILURE_WINDOW_MS, 'NX').pttl(attempt.failures)
        .incr(attempt.failuresFrom).pexpire(attempt.failuresFrom, FAILURE_WINDOW_MS, 'NX').pttl(attempt.failuresFrom)
        .exists(attempt.knownNetwork)
        .exec()
    } catch (err) {
      // Redis down must not lock everyone out of logging in: fail open, as the per-IP limit does.
      req.log.warn({ err: (err as Error).message }, 'login throttle skipped: redis unavailable')
      return
    }
    const [failures, , failuresTtlMs, failuresFrom, , failuresFromTtlMs, isKnown] = (replies ?? []).map(([, value]) => Number(value))
    if (failuresFrom === undefined || Number.isNaN(failuresFrom)) return
    if (failuresFrom > perNetwork) throw rateLimited(seconds(failuresFromTtlMs))
    if (failures! > perAccount && isKnown !== 1) throw rateLimited(seconds(failuresTtlMs))
    attempts.set(req, attempt)
  }

  /**
   * onSend of the login route: a failure stays counted; anything else is given back. onSend runs with the
   * status about to be sent and before the client sees it, so the client's next attempt meets the count as
   * this one left it.
   */
  async function recordLogin(req: FastifyRequest, reply: FastifyReply, payload: unknown) {
    const attempt = attempts.get(req)
    if (attempt === undefined) return payload
    attempts.delete(req)
    if (reply.statusCode === FAILED) return payload
    // PEXPIRE NX after DECR: should the window have ended meanwhile, the -1 left behind ends with the next one.
    const giveBack = redis.multi().decr(attempt.failures).pexpire(attempt.failures, FAILURE_WINDOW_MS, 'NX')
    if (reply.statusCode < 300) giveBack.del(attempt.failuresFrom).set(attempt.knownNetwork, '1', 'PX', KNOWN_NETWORK_MS)
    else giveBack.decr(attempt.failuresFrom).pexpire(attempt.failuresFrom, FAILURE_WINDOW_MS, 'NX')
    try {
      await giveBack.exec()
    } catch (err) {
      req.log.warn({ err: (err as Error).message }, 'login throttle: attempt not given back, redis unavailable')
    }
    return payload
  }

  return { checkLogin, recordLogin }
}

const seconds = (ttlMs: number | undefined) =>
  Math.max(1, Math.ceil((ttlMs !== undefined && ttlMs > 0 ? ttlMs : FAILURE_WINDOW_MS) / 1000))
