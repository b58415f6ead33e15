import type { RedisClient } from './client.js'

/**
 * Redis' clock (TIME) in milliseconds, with the fraction kept. Locks, windows and deadlines are stated in
 * the clock vote.lua reads, so whoever compares against them reads the same clock, not its own.
 */
export const msOfRedisTime = (time: readonly (string | number)[]): number =>
  Number(time[0]) * 1000 + Number(time[1]) / 1000

export async function redisNowMs(redis: RedisClient): Promise<number> {
  return msOfRedisTime(await redis.time())
}
