/**
 * The coalescing port: one origin fetch per flight (a key, or one variant of it) — in this
 * process, across worker processes and across a fleet. A claim gives a role, in the spirit of
 * Pingora's cache lock: a leader holds the flight (and, fleet-wide, a lease that it renews) and
 * settles it with an outcome; a follower waits, bounded, and learns that outcome.
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { GatewayError } from '../errors.js'
import type { CacheStatus, Reason } from '../status.js'
import type { CacheEntry, CacheRecord, Lease } from '../store/types.js'
import type { Fill } from './fill.js'

/** How the access line names a request's part in its flight. */
export type LockRole =
  | 'leader' //    fetched for the flight
  | 'follower' //  waited for another request's fetch, here or elsewhere in the fleet
  | 'takeover' //  led after the previous holder's lease ran out
  | 'fallback' //  fetched without the fleet lock: the fleet was unreachable, or the wait ran out

/** An origin 5xx read whole, not stored, but impersonal enough to answer the crowd that waited for it. */
export interface SharedError {
  readonly kind: 'shared-error'
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
  /** The Vary names and the route-key selector and Vary signature of the leader's request. */
  readonly vary: readonly string[]
  readonly selector: string
  readonly varySignature: string
}

/** What a flight's followers learn from it. */
export type FlightOutcome =
  /** The leader's entry, handed over in this process. */
  | {
      readonly kind: 'entry'
      readonly entry: CacheEntry
      readonly cacheStatus: CacheStatus
      readonly fwdStatus: number
      /** In the store: fleet members can read it there. */
      readonly stored: boolean
    }
  /**
   * Announced, not settled: the leader's response is storable and its body is arriving; followers
   * in this process stream it as it comes (src/coalesce/fill.ts). The flight settles when the body
   * is whole (an `entry`), too large (`not-shareable`) or broken (`error`).
   */
  | { readonly kind: 'fill'; readonly fill: Fill; readonly cacheStatus: CacheStatus; readonly fwdStatus: number }
  /** Another process stored it: what the store holds now (an entry, or the vary index leading to it). */
  | { readonly kind: 'found'; readonly record: CacheRecord }
  | SharedError
  /** The response may not be shared (private, Set-Cookie, too large…): each follower fetches its own. */
  | {
      readonly kind: 'not-shareable'
      readonly reason: Reason
      readonly originStatus: number
      /** The reason belongs to the resource, not to the leader's request: mark the key hit-for-miss. */
      readonly remembered: boolean
    }
  | { readonly kind: 'error'; readonly error: GatewayError }
  /** The flight ended without an answer for its followers (its leader stopped, or it fell to another process): fetch. */
  | { readonly kind: 'give-up' }
  /** The wait ran out: the route's fallback decides (src/stages/fetch). */
  | { readonly kind: 'timeout' }

export interface FlightRequest {
  /** The flight (src/store/ids.ts lockId). */
  readonly lockId: string
  /** Where the flight's record lands: the primary id, or the variant's id. */
  readonly entryId: string
  /** The key's primary id: where hit-for-miss marks are kept. */
  readonly keyId: string
  /** The version of the record this request saw (a stale entry, a vary index), '' when none. */
  readonly seenVersion: string
  /** 'distributed': fleet-wide when a fleet lock is configured; 'local': this process only. */
  readonly scope: 'distributed' | 'local'
  readonly leaseMs: number
  /** The longest a follower waits. */
  readonly waitMs: number
  /** When the wait runs out: fetch (true), or leave it to each request (stale, or an error). */
  readonly fetchOnTimeout: boolean
}

export type Role =
  | {
      readonly role: 'leader'
      readonly lockRole: 'leader' | 'takeover' | 'fallback'
      /** Held fleet-wide: storing under it releases the lock and wakes the fleet's waiters. */
      readonly lease: Lease | undefined
      /** Tell the followers, here and in the fleet. Once; later calls do nothing. */
      settle(outcome: FlightOutcome): void
      /** Tell this process's followers that asked for it (a `fill`) before the flight settles. */
      announce(outcome: FlightOutcome): void
    }
  | {
      readonly role: 'follower'
      /**
       * Resolves with the leader's outcome, or `timeout` after `waitMs`. `early`: or with what the
       * leader announces before that (a body to stream), when it leads in this process.
       */
      wait(early?: boolean): Promise<FlightOutcome>
    }

/** The fleet-wide half of coalescing: across worker processes (ipc) or instances (redis). */
export interface FleetLock {
  readonly name: string
  /**
   * Lead the flight, or wait for whoever leads it (bounded by `waitMs`) and learn what came of it.
   * Takes over when the holder's lease runs out. Never rejects: an unreachable fleet is `unavailable`.
   */
  claim(flight: FlightRequest): Promise<FleetClaim>
  /** Lead if nobody does; never wait (a background refresh: someone else refreshing is as good). */
  tryClaim(flight: FlightRequest): Promise<FleetTry>
  /** Let the lease go and tell the waiters what came of the fill. Does nothing once it is released. */
  release(lease: Lease, outcome: FlightOutcome): void
  /** Stream a `fill` to the fleet's waiters while it arrives, where the lock can (worker processes). */
  announce?(lease: Lease, outcome: FlightOutcome): void
  close(): Promise<void>
}

export type FleetClaim =
  | { readonly kind: 'leader'; readonly lease: Lease; readonly takeover: boolean }
  | { readonly kind: 'outcome'; readonly outcome: FlightOutcome }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'unavailable' }

export type FleetTry =
  | { readonly kind: 'leader'; readonly lease: Lease }
  /** Another member leads; its lease has `forMs` left. */
  | { readonly kind: 'busy'; readonly forMs: number }
  | { readonly kind: 'unavailable' }
