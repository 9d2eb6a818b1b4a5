/**
 * Hit-for-miss (Varnish's term): keys that recently produced a response that could not be shared
 * (private, Set-Cookie, too large…). Requests for them skip the queue and fetch on their own, and
 * a later storable response clears the mark. This is the in-process table; fleet-wide, the mark
 * is also kept in Redis next to the key (src/coalesce/redis-lock.ts).
 */
export class HitForMiss {
  private readonly until = new Map<string, { readonly until: number; readonly why: string }>()
  private readonly maxKeys: number

  constructor(
    private readonly ttlMs: number,
    maxKeys = 100_000,
  ) {
    this.maxKeys = maxKeys
  }

  /** `why`: what made the response unshareable (kept so that a request can act on it). */
  mark(key: string, now: number, why = ''): void {
    if (this.ttlMs <= 0) return
    if (this.until.size >= this.maxKeys) this.sweep(now)
    if (this.until.size >= this.maxKeys) this.until.clear()
    this.until.set(key, { until: now + this.ttlMs, why })
  }

  has(key: string, now: number): boolean {
    return this.why(key, now) !== undefined
  }

  /** Why the key is marked, or undefined when it is not (any more). */
  why(key: string, now: number): string | undefined {
    const mark = this.until.get(key)
    if (mark === undefined) return undefined
    if (mark.until > now) return mark.why
    this.until.delete(key)
    return undefined
  }

  clear(key: string): void {
    this.until.delete(key)
  }

  private sweep(now: number): void {
    for (const [key, mark] of this.until) if (mark.until <= now) this.until.delete(key)
  }
}
