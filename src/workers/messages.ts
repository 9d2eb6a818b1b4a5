/**
 * What the primary and its workers say to each other over node:cluster's IPC channel (with the
 * 'advanced' serialization, so that Buffers pass as they are).
 *
 * Without Redis, the primary keeps the fill locks of all workers (one origin fetch per key for the
 * instance) and relays every record a worker stores to its siblings, so that a key fetched by one
 * worker is a hit on all of them.
 */

import type { AdminCall, AdminFailure } from '../admin/backend.js'
import type { PurgeOrder } from '../store/purge.js'

/**
 * A body streamed to the waiters of a flight while its leader reads it (src/coalesce/fill.ts):
 * the head (the entry it will be stored as, encoded, without its body), the chunks, then the end —
 * or `stop` (too large to store: no new readers) and `fail` (the body broke).
 */
export type FillPart =
  | { readonly p: 'head'; readonly head: Uint8Array; readonly length: number; readonly cacheStatus: string; readonly fwdStatus: number }
  | { readonly p: 'data'; readonly chunk: Uint8Array }
  | { readonly p: 'stop' }
  | { readonly p: 'end' }
  | { readonly p: 'fail' }

/** Worker → primary. */
export type ToPrimary =
  /** A part of the body of a flight this worker leads, for the workers waiting on it. */
  | { readonly t: 'fill'; readonly lockId: string; readonly token: string; readonly part: FillPart }
  /** Lead the flight, or wait for it (`wait: false`: lead if free, else say busy). */
  | { readonly t: 'claim'; readonly seq: number; readonly lockId: string; readonly keyId: string; readonly token: string; readonly wait: boolean }
  /** Let the lock go and tell its waiters `message` (src/coalesce/messages.ts); mark the key hit-for-miss for `hitForMissMs`. */
  | { readonly t: 'release'; readonly lockId: string; readonly keyId: string; readonly token: string; readonly message: string; readonly hitForMissMs: number; readonly reason: string }
  /** No longer waiting on this flight (the wait ran out). */
  | { readonly t: 'unwait'; readonly lockId: string }
  /** Records this worker stored, encoded (src/store/codec.ts), for its siblings. */
  | { readonly t: 'put'; readonly records: ReadonlyArray<{ readonly id: string; readonly bytes: Uint8Array }> }
  | { readonly t: 'del'; readonly id: string }
  /** A purge this worker applied to its memory, for its siblings. */
  | { readonly t: 'purge'; readonly order: PurgeOrder }
  /** The answer to an `admin` request. */
  | { readonly t: 'admin-reply'; readonly seq: number; readonly ok: true; readonly result: unknown }
  | { readonly t: 'admin-reply'; readonly seq: number; readonly ok: false; readonly error: AdminFailure }
  /** Listening, with these addresses. */
  | { readonly t: 'ready'; readonly urls: readonly string[] }
  /** Cannot start (a listener cannot be opened): restarting would fail the same way, so the primary gives up with this line. */
  | { readonly t: 'fatal'; readonly message: string }

/** Primary → worker. */
export type ToWorker =
  | { readonly t: 'claimed'; readonly seq: number; readonly role: 'leader' | 'wait' | 'busy' | 'hit-for-miss'; readonly reason?: string }
  /** What came of a flight this worker waits on. */
  | { readonly t: 'outcome'; readonly lockId: string; readonly message: string }
  /** A part of the body of a flight this worker waits on, as its leader reads it. */
  | { readonly t: 'fill'; readonly lockId: string; readonly part: FillPart }
  | { readonly t: 'put'; readonly records: ReadonlyArray<{ readonly id: string; readonly bytes: Uint8Array }> }
  | { readonly t: 'del'; readonly id: string }
  | { readonly t: 'purge'; readonly order: PurgeOrder }
  /** An admin API call the primary's listener received, for this worker's runtime (src/admin/backend.ts). */
  | { readonly t: 'admin'; readonly seq: number; readonly call: AdminCall }
  /** Stop accepting, drain, exit. */
  | { readonly t: 'shutdown' }

export function isToWorker(message: unknown): message is ToWorker {
  return typeof message === 'object' && message !== null && typeof (message as { t?: unknown }).t === 'string'
}

export function isToPrimary(message: unknown): message is ToPrimary {
  return typeof message === 'object' && message !== null && typeof (message as { t?: unknown }).t === 'string'
}
