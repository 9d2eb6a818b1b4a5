/**
 * Local request coalescing: one origin fetch per key in this process. The first request for a
 * key becomes the leader and must settle the flight; the others follow and wait, bounded, for
 * its outcome. Outcomes are values, never thrown, so that a follower cannot miss one.
 *
 * A leader may also announce an outcome before it settles: a body still arriving that followers
 * can stream (src/stages/fetch/fill.ts). Followers that asked for it get the announcement; the
 * flight stays open until it is settled, so that requests arriving meanwhile join it too.
 */
export type Role<T> =
  | { readonly role: 'leader'; readonly settle: (outcome: T) => void; readonly announce: (outcome: T) => void }
  | {
      readonly role: 'follower'
      /** `early`: the announced outcome, if the leader announces one before it settles. */
      readonly wait: (timeoutMs: number, early?: boolean) => Promise<T | 'timeout'>
    }

interface Flight<T> {
  readonly promise: Promise<T>
  /** Resolves with the announcement, or with the outcome when none came first. */
  readonly announced: Promise<T>
  followers: number
}

export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>()

  join(key: string): Role<T> {
    const running = this.flights.get(key)
    if (running !== undefined) {
      running.followers++
      return { role: 'follower', wait: (timeoutMs, early = false) => waitBounded(early ? running.announced : running.promise, timeoutMs) }
    }
    let resolve!: (outcome: T) => void
    let announce!: (outcome: T) => void
    const promise = new Promise<T>((r) => (resolve = r))
    const announced = new Promise<T>((r) => (announce = r))
    const flight: Flight<T> = { promise, announced, followers: 0 }
    this.flights.set(key, flight)
    let settled = false
    return {
      role: 'leader',
      settle: (outcome) => {
        if (settled) return
        settled = true
        if (this.flights.get(key) === flight) this.flights.delete(key)
        announce(outcome)
        resolve(outcome)
      },
      announce: (outcome) => {
        if (!settled) announce(outcome)
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
