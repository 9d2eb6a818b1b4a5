/**
 * Fleet-wide coalescing through Redis (lua/): one filler per flight for every instance sharing
 * the store. A claim reads the flight's record and takes the lock in one script and one round
 * trip (lookupOrLock-4): a record newer than the one the caller saw is simply used; a key known
 * to be unshareable is fetched alone; otherwise the caller leads, or waits.
 *
 * Waiters are woken by a message on the flight's channel (no polling): the filler's store-4
 * stores, releases and says "done" in one step; release-3 says what else came of it (not
 * shareable, a shared error, an origin failure, or nothing: try again). A leader renews its
 * lease every third of it while it fetches; one that dies loses the lock when the lease runs
 * out, and a waiter — whose timer is set to that moment — takes over. The wait is bounded:
 * after `waitMs` the route's fallback decides.
 *
 * Fail open: when Redis fails, a claim is `unavailable` and the caller fetches, coalesced in its
 * own process only.
 */
import { randomBytes } from 'node:crypto'
import type { GatewayLog } from '../log.js'
import type { RedisConnection } from '../redis/client.js'
import { flightChannel, lookupOrLock, release, renew } from '../redis/scripts.js'
import type { Reason } from '../status.js'
import type { RedisStore } from '../store/redis.js'
import type { TieredStore } from '../store/tiered.js'
import { versionOf } from '../store/codec.js'
import type { CacheRecord, Lease } from '../store/types.js'
import { Mailbox } from './mailbox.js'
import { DONE_MESSAGE, GIVE_UP_MESSAGE, messageFor, outcomeFrom } from './messages.js'
import type { FleetClaim, FleetLock, FleetTry, FlightOutcome, FlightRequest } from './types.js'

/** How long after a lease should have run out a waiter looks again (its holder's clock and ours differ). */
const LEASE_SLACK_MS = 25
/** How long a released flight's answer stays readable by its waiters that were still subscribing. */
const OUTCOME_KEPT_MS = 5_000

const UNAVAILABLE: FleetClaim = Object.freeze({ kind: 'unavailable' })
const TIMEOUT: FleetClaim = Object.freeze({ kind: 'timeout' })

interface RedisLease extends Lease {
  readonly keyId: string
  renewal: NodeJS.Timeout | undefined
}

export class RedisLock implements FleetLock {
  readonly name = 'redis'
  private readonly held = new Set<RedisLease>()

  constructor(
    private readonly redis: RedisConnection,
    /** Where a woken waiter reads the record, and where a record read by a script is kept. */
    private readonly store: TieredStore | RedisStore,
    private readonly hitForMissMs: number,
    private readonly log: GatewayLog,
  ) {}

  async claim(flight: FlightRequest): Promise<FleetClaim> {
    if (!this.redis.available) return UNAVAILABLE
    const deadline = Date.now() + flight.waitMs
    const token = newToken()
    const messages = new Mailbox()
    let stopListening: (() => void) | undefined
    let leaseRanOut = false
    let seen = flight.seenVersion
    let waitedFor = ''
    try {
      for (;;) {
        const found = await lookupOrLock(this.redis, flight, token, flight.leaseMs, seen, waitedFor)
        switch (found.kind) {
          case 'record': {
            const record = await this.kept(flight.entryId, found.bytes)
            if (record !== undefined) return { kind: 'outcome', outcome: { kind: 'found', record } }
            // Not a record this release can read: look again as if it had been seen, and lead.
            seen = versionOf(found.bytes)
            continue
          }
          case 'hit-for-miss':
            return { kind: 'outcome', outcome: { kind: 'not-shareable', reason: found.reason as Reason, originStatus: 0, remembered: true } }
          case 'locked':
            return { kind: 'leader', lease: this.lead(flight, token), takeover: leaseRanOut }
          case 'released': {
            // Released while this waiter was subscribing: what it said, it says still.
            const woken = await this.woken(flight, found.message)
            if (woken !== undefined) return woken
            waitedFor = ''
            continue
          }
          case 'wait': {
            waitedFor = found.holder
            if (stopListening === undefined) {
              // Listen first, then look again: a "done" sent in between is not missed.
              stopListening = await this.redis.listen(flightChannel(this.redis, flight.lockId), (m) => messages.put(m))
              continue
            }
            const left = deadline - Date.now()
            if (left <= 0) return TIMEOUT
            const message = await messages.take(Math.min(left, found.pttlMs + LEASE_SLACK_MS))
            if (message === undefined) {
              // The lease should have run out (its holder died), or the wait is over: look again.
              leaseRanOut = Date.now() < deadline
              continue
            }
            const woken = await this.woken(flight, message)
            if (woken !== undefined) return woken
          }
        }
      }
    } catch (err) {
      this.log.redisError(err)
      return UNAVAILABLE
    } finally {
      stopListening?.()
    }
  }

  async tryClaim(flight: FlightRequest): Promise<FleetTry> {
    if (!this.redis.available) return { kind: 'unavailable' }
    const token = newToken()
    try {
      const found = await lookupOrLock(this.redis, flight, token, flight.leaseMs, flight.seenVersion)
      switch (found.kind) {
        case 'locked':
          return { kind: 'leader', lease: this.lead(flight, token) }
        case 'wait':
          return { kind: 'busy', forMs: found.pttlMs }
        case 'record':
          // Refreshed already, elsewhere: keep the new record; nothing to refresh.
          await this.kept(flight.entryId, found.bytes)
          return { kind: 'busy', forMs: 0 }
        case 'hit-for-miss':
        case 'released':
          return { kind: 'unavailable' }
      }
    } catch (err) {
      this.log.redisError(err)
      return { kind: 'unavailable' }
    }
  }

  release(lease: Lease, outcome: FlightOutcome): void {
    const held = lease as RedisLease
    this.stopRenewing(held)
    if (held.state !== 'held') return
    held.state = 'released'
    const hitForMiss = outcome.kind === 'not-shareable' && outcome.remembered ? { ms: this.hitForMissMs, reason: outcome.reason } : undefined
    const message = messageFor(outcome)
    // An answer for the waiters (not "try again") is kept a moment for those still subscribing.
    const keepMs = message === GIVE_UP_MESSAGE ? 0 : OUTCOME_KEPT_MS
    release(this.redis, { lockId: held.lockId, keyId: held.keyId }, held.token, message, { hitForMiss, keepMs }).catch((err: unknown) =>
      this.log.redisError(err),
    )
  }

  close(): Promise<void> {
    for (const lease of this.held) this.stopRenewing(lease)
    return Promise.resolve()
  }

  private lead(flight: FlightRequest, token: string): RedisLease {
    const lease: RedisLease = { lockId: flight.lockId, keyId: flight.keyId, token, issuer: this.name, state: 'held', renewal: undefined }
    lease.renewal = setInterval(() => {
      renew(this.redis, lease.lockId, token, flight.leaseMs).then(
        (mine) => {
          if (mine) return
          // The lease ran out and the lock went to another filler: what this one stores would be superseded.
          if (lease.state === 'held') lease.state = 'lost'
          this.stopRenewing(lease)
        },
        () => undefined, // Redis away: the lease may run out; the store script will tell.
      )
    }, Math.max(10, Math.floor(flight.leaseMs / 3)))
    lease.renewal.unref()
    this.held.add(lease)
    return lease
  }

  private stopRenewing(lease: RedisLease): void {
    if (lease.renewal !== undefined) clearInterval(lease.renewal)
    lease.renewal = undefined
    this.held.delete(lease)
  }

  /** A record a script read: decoded, and kept in L1 like any lookup's. */
  private async kept(id: string, bytes: Buffer): Promise<CacheRecord | undefined> {
    const l2 = 'l2' in this.store ? this.store.l2 : this.store
    const record = await l2.decode(bytes)
    if (record !== undefined && 'warm' in this.store) this.store.warm(id, record)
    return record
  }

  /** What a message on the flight's channel means for a waiter; undefined: look again (also for '', the connection's "you may have missed something"). */
  private async woken(flight: FlightRequest, message: string): Promise<FleetClaim | undefined> {
    const kind = message[0]
    if (kind === DONE_MESSAGE) {
      const record = await this.store.reload(flight.entryId)
      if (record === undefined || record.version === flight.seenVersion) return undefined
      return { kind: 'outcome', outcome: { kind: 'found', record } }
    }
    if (kind === GIVE_UP_MESSAGE) return undefined
    const outcome = outcomeFrom(message)
    return outcome === undefined ? undefined : { kind: 'outcome', outcome }
  }
}

function newToken(): string {
  return randomBytes(12).toString('base64url')
}
