/**
 * Local request coalescing: one origin fetch per key in this process. The first request for a
 * key becomes the leader and must settle the flight; the others follow and wait, bounded, for
 * its outcome. Outcomes are values, never thrown, so that a follower cannot miss one.
 */
export type Role<T> =
  | { readonly role: 'leader'; readonly settle: (outcome: T) => void }
  | { readonly role: 'follower'; readonly wait: (timeoutMs: number) => Promise<T | 'timeout'> }

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
