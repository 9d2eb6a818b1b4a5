/**
 * What the fetch path counts, kept in one place for the metrics endpoint to expose. Plain
 * numbers, incremented where things happen: no labels, nothing per key.
 */
export class Counters {
  /** Requests sent to origins on the cache path (fetches and revalidations, background ones included). */
  originFetches = 0
  /** Requests that waited for another request's fetch (a flight's followers). */
  coalesced = 0
  /** Flight leaders that fetched without the fleet lock: the fleet was unreachable, or the wait ran out. */
  lockFallbacks = 0
  /** Flight leaders that took the lock over after its holder's lease ran out. */
  lockTakeovers = 0
  /** Followers whose wait ran out (the route's onTimeout answered them). */
  lockTimeouts = 0
  /** Background refreshes started early, before expiry (earlyRefresh). */
  earlyRefreshes = 0
}
