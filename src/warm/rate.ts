/**
 * The rate limit: a token bucket of one token refilled every 1/rate seconds, kept as the time of
 * the next free slot. Slots are spaced from the previous slot rather than from when a timer
 * happened to fire, so a run is exact over its length (n requests at r/s take (n-1)/r s, not
 * more for timer lateness, and never less); a pause (slow responses) earns no burst afterwards.
 */
export class RateLimiter {
  private readonly intervalMs: number
  private next = 0

  constructor(perSecond: number, private readonly now: () => number = () => performance.now()) {
    this.intervalMs = 1000 / perSecond
  }

  /** Resolves at this caller's slot (at once when it is due), or early when the signal aborts. */
  take(signal?: AbortSignal): Promise<void> {
    const now = this.now()
    const slot = Math.max(now, this.next)
    this.next = slot + this.intervalMs
    const wait = slot - now
    if (wait <= 0 || signal?.aborted === true) return Promise.resolve()
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, Math.ceil(wait))
      signal?.addEventListener('abort', done, { once: true })
    })
  }
}
