/**
 * The fill locks of an instance's worker processes, kept by the primary when there is no Redis:
 * one leader per flight among all workers, the workers waiting on it, and the keys marked
 * hit-for-miss. Workers cannot die holding a lock unnoticed (the primary sees them exit), so
 * there are no leases here: a dead holder's waiters are told at once.
 */
export type ClaimRole = 'leader' | 'wait' | 'busy' | 'hit-for-miss'

interface Held {
  readonly owner: number
  readonly token: string
  readonly waiters: Set<number>
}

/** Hit-for-miss marks kept at most this many at once. */
const MAX_MARKS = 100_000

export class LockTable {
  private readonly held = new Map<string, Held>()
  private readonly marks = new Map<string, { readonly until: number; readonly reason: string }>()

  claim(worker: number, c: { readonly lockId: string; readonly keyId: string; readonly token: string; readonly wait: boolean }, now: number): { role: ClaimRole; reason?: string } {
    const mark = this.marks.get(c.keyId)
    if (mark !== undefined) {
      if (mark.until > now) return { role: 'hit-for-miss', reason: mark.reason }
      this.marks.delete(c.keyId)
    }
    const held = this.held.get(c.lockId)
    if (held === undefined) {
      this.held.set(c.lockId, { owner: worker, token: c.token, waiters: new Set() })
      return { role: 'leader' }
    }
    if (!c.wait) return { role: 'busy' }
    held.waiters.add(worker)
    return { role: 'wait' }
  }

  /** The waiters to tell, or undefined when the lock was not the caller's. */
  release(
    worker: number,
    r: { readonly lockId: string; readonly keyId: string; readonly token: string; readonly hitForMissMs: number; readonly reason: string },
    now: number,
  ): readonly number[] | undefined {
    const held = this.held.get(r.lockId)
    if (held === undefined || held.owner !== worker || held.token !== r.token) return undefined
    this.held.delete(r.lockId)
    if (r.hitForMissMs > 0) {
      if (this.marks.size >= MAX_MARKS) this.marks.clear()
      this.marks.set(r.keyId, { until: now + r.hitForMissMs, reason: r.reason })
    }
    return [...held.waiters]
  }

  /** A stored record clears the key's mark (a storable answer came after all). */
  stored(keyId: string): void {
    this.marks.delete(keyId)
  }

  /** The workers waiting on a flight now. */
  waitersOf(lockId: string): readonly number[] {
    const held = this.held.get(lockId)
    return held === undefined ? [] : [...held.waiters]
  }

  unwait(worker: number, lockId: string): void {
    this.held.get(lockId)?.waiters.delete(worker)
  }

  /** A worker exited: the flights it led end (their waiters, by flight, are returned), and it waits on none. */
  gone(worker: number): Array<{ readonly lockId: string; readonly waiters: readonly number[] }> {
    const orphaned: Array<{ lockId: string; waiters: number[] }> = []
    for (const [lockId, held] of this.held) {
      held.waiters.delete(worker)
      if (held.owner !== worker) continue
      this.held.delete(lockId)
      orphaned.push({ lockId, waiters: [...held.waiters] })
    }
    return orphaned
  }

  get size(): number {
    return this.held.size
  }
}
