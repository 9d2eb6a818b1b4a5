/**
 * Local request coalescing: one origin fetch per key in this process. The first request for a
 * key becomes the leader and must settle the flight; the others follow and wait, bounded, for
 * its outcome. Outcomes are values, never thrown, so that a follower cannot miss one.
 */
export type Role<T> =
  | { readonly role: 'leader'; settle(outcome: T): void }
  | { readonly role: 'follower'; wait(timeoutMs: number): Promise<T | 'timeout'> }

interface Flight<T> {
  readonly promise: Promise<T>
  followers: number
}

export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>()

  join(key: string): Role<T> {
    const running = this.flights.get(key)
    if (running !== undefined) {
      running.followers++
      return { role: 'follower', wait: (timeoutMs) => waitBounded(running.promise, timeoutMs) }
    }
    let resolve!: (outcome: T) => void
    const flight: Flight<T> = { promise: new Promise<T>((r) => (resolve = r)), followers: 0 }
    this.flights.set(key, flight)
    let settled = false
    return {
      role: 'leader',
      settle: (outcome) => {
        if (settled) return
        settled = true
        if (this.flights.get(key) === flight) this.flights.delete(key)
        resolve(outcome)
      },
    }
  }

  isRunning(key: string): boolean {
    return this.flights.has(key)
  }

  /** Flights under way. */
  get size(): number {
    return this.flights.size
  }

  /** Requests waiting on all flights together. */
  get waiting(): number {
    let n = 0
    for (const flight of this.flights.values()) n += flight.followers
    return n
  }
}

function waitBounded<T>(promise: Promise<T>, timeoutMs: number): Promise<T | 'timeout'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs)
    timer.unref()
    void promise.then((outcome) => {
      clearTimeout(timer)
      resolve(outcome)
    })
  })
}

/**
 * Keys that recently produced a response that could not be shared (private, Set-Cookie, too
 * large…): Varnish's hit-for-miss. Requests for them skip the queue and fetch on their own,
 * and a later storable response clears the mark.
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
