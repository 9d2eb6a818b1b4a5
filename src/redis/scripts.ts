/**
 * One typed wrapper per script of lua/: each owns its KEYS and ARGV order, and what its reply
 * means. The callers speak ids and tokens; the key layout comes from the connection.
 */
import type { RedisConnection } from './client.js'

export type LookupOrLock =
  | { readonly kind: 'record'; readonly bytes: Buffer }
  | { readonly kind: 'hit-for-miss'; readonly reason: string }
  | { readonly kind: 'locked' }
  /** `holder`: the filler's token, to pass back as `waitedFor` when looking again. */
  | { readonly kind: 'wait'; readonly pttlMs: number; readonly holder: string }
  /** The filler waited for released the lock with this message (the waiter was subscribing meanwhile). */
  | { readonly kind: 'released'; readonly message: string }

export interface LockKeys {
  /** Where the flight's record lands. */
  readonly entryId: string
  /** The flight. */
  readonly lockId: string
  /** The key's primary id (hit-for-miss mark). */
  readonly keyId: string
}

export async function lookupOrLock(
  r: RedisConnection,
  keys: LockKeys,
  token: string,
  leaseMs: number,
  seenVersion: string,
  waitedFor = '',
): Promise<LookupOrLock> {
  const reply = await r.run((c) =>
    c.lookupOrLockBuffer(r.key(keys.entryId, 'e'), r.key(keys.lockId, 'l'), r.key(keys.keyId, 'h'), r.key(keys.lockId, 'o'), token, leaseMs, seenVersion, waitedFor),
  )
  const [code, value, holder] = reply
  switch (code) {
    case 1:
      return { kind: 'record', bytes: value as Buffer }
    case 2:
      return { kind: 'hit-for-miss', reason: String(value) }
    case 3:
      return { kind: 'locked' }
    case 5:
      return { kind: 'released', message: String(value) }
    default:
      return { kind: 'wait', pttlMs: Math.max(0, Number(value)), holder: holder === undefined || holder === null ? '' : String(holder) }
  }
}

/** True while the lock is still the caller's. */
export async function renew(r: RedisConnection, lockId: string, token: string, leaseMs: number): Promise<boolean> {
  return (await r.run((c) => c.renew(r.key(lockId, 'l'), token, leaseMs))) === 1
}

/** The channel a flight's waiters listen on: in the lock's slot, so that the scripts can publish to it. */
export function flightChannel(r: RedisConnection, lockId: string): string {
  return r.key(lockId, 'n')
}

/**
 * Release without storing; `hitForMiss` marks the key for that long (ms) with the reason;
 * `keepMs`: how long the message stays readable for waiters still subscribing (0: not at all).
 * False when the lock was not the caller's any more.
 */
export async function release(
  r: RedisConnection,
  keys: { readonly lockId: string; readonly keyId: string },
  token: string,
  message: string,
  options: { readonly hitForMiss?: { readonly ms: number; readonly reason: string }; readonly keepMs?: number } = {},
): Promise<boolean> {
  const reply = await r.run((c) =>
    c.release(
      r.key(keys.lockId, 'l'),
      r.key(keys.keyId, 'h'),
      r.key(keys.lockId, 'o'),
      token,
      flightChannel(r, keys.lockId),
      r.publishCommand,
      message,
      options.hitForMiss?.ms ?? 0,
      options.hitForMiss?.reason ?? '',
      options.keepMs ?? 0,
    ),
  )
  return reply === 1
}

export interface EncodedWrite {
  readonly id: string
  readonly bytes: Buffer
  readonly ttlMs: number
}

/**
 * Store one or two records of one primary id. With a `fill` (a flight's lease), only while the lock
 * is the filler's, releasing it and telling the waiters `message` in the same step. False when the
 * lock was not the filler's any more (nothing stored).
 */
export async function store(
  r: RedisConnection,
  records: readonly [EncodedWrite] | readonly [EncodedWrite, EncodedWrite],
  fill: { readonly lockId: string; readonly token: string; readonly message: string } | undefined,
): Promise<boolean> {
  const [a, b] = records
  const keyId = a.id.split(':')[0] as string
  const lockId = fill?.lockId ?? keyId
  const reply = await r.run((c) =>
    c.store(
      r.key(lockId, 'l'),
      r.key(keyId, 'h'),
      r.key(a.id, 'e'),
      r.key((b ?? a).id, 'e'),
      fill?.token ?? '',
      flightChannel(r, lockId),
      r.publishCommand,
      fill?.message ?? '',
      a.bytes,
      a.ttlMs,
      b?.bytes ?? '',
      b?.ttlMs ?? 0,
    ),
  )
  return reply === 1
}
