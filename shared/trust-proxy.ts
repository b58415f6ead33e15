import { isIP } from 'node:net'

/**
 * TRUST_PROXY, parsed: `false` trusts no forwarding header; a number trusts that many proxies in front
 * (the client is the entry that many hops from the socket); a list trusts the proxies at those addresses.
 */
export type TrustProxy = false | number | readonly string[]

const MAX_HOPS = 32
// The named ranges @fastify/proxy-addr expands (loopback, link-local, private networks).
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** Throws an Error saying what is wrong and what to write instead; the caller names the variable. */
export function parseTrustProxy(raw: string): TrustProxy {
  const value = raw.trim().toLowerCase()
  if (value === '' || value === 'false' || value === '0') return false
  if (value === 'true') {
    throw new Error('true would trust every hop, so a client could name any address in X-Forwarded-For and dodge the ' +
      'per-IP limits; set the load balancer\'s addresses or CIDRs (e.g. 10.0.0.0/8), or the number of proxies ' +
      'in front (1 behind one load balancer)')
  }
  if (/^[0-9]+$/.test(value)) {
    const hops = Number(value)
    if (hops > MAX_HOPS) throw new Error(`expected at most ${MAX_HOPS} hops`)
    return hops
  }
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  for (const entry of entries) {
    if (!isTrustEntry(entry)) {
      throw new Error(`${JSON.stringify(entry)} is not an address, a CIDR (address/prefix length) or one of ` +
        `${[...NAMED_RANGES].join(', ')}; expected false, a hop count or a comma-separated list of those`)
    }
  }
  return Object.freeze(entries)
}

function isTrustEntry(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true
  if (entry.includes('%')) return false // a zone: proxy-addr cannot parse it
  const slash = entry.lastIndexOf('/')
  const version = isIP(slash === -1 ? entry : entry.slice(0, slash))
  if (version === 0) return false
  if (slash === -1) return true
  const prefix = entry.slice(slash + 1)
  // proxy-addr refuses a prefix of 0 (trusting every address is what `true` would do).
  return /^[0-9]{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= (version === 4 ? 32 : 128)
}
