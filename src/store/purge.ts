/**
 * What a purge removes, in terms every store can apply: the admin API (src/admin) turns a URL, a
 * prefix, a tag or "all" into a PurgeTarget, and each store finds the records it names. Hard
 * purges delete them; soft purges mark entries stale now (Fastly's soft purge), so that they are
 * still served under their stale windows while one request revalidates them with the origin.
 *
 * Targets travel between processes (the L1 bus, worker IPC) as JSON.
 */
import { newVersion, primaryOf } from './ids.js'
import type { CacheEntry, CacheRecord, VaryIndex } from './types.js'

export type PurgeTarget =
  /** One URL: every method and variant of it. `ids`: its primary ids, when its host is known; otherwise matched by `target` on every host. */
  | { readonly kind: 'url'; readonly host: string | undefined; readonly target: string; readonly ids: readonly string[] }
  /** Every URL whose path and query start with `prefix` (on `host`, or on every host). */
  | { readonly kind: 'prefix'; readonly host: string | undefined; readonly prefix: string }
  /** Every entry whose response carried this tag. */
  | { readonly kind: 'tag'; readonly tag: string }
  | { readonly kind: 'all' }

export interface PurgeOrder {
  readonly target: PurgeTarget
  readonly soft: boolean
}

/** A store answered for its own part only: Redis could not be reached, so other instances still hold the records. */
export class PurgeIncomplete extends Error {
  override readonly name = 'PurgeIncomplete'
  constructor(
    readonly entries: number,
    options?: { cause?: unknown },
  ) {
    super(`purged ${entries} entries from this instance's memory, but the shared store (Redis) could not be reached: other instances may still serve them`, options)
  }
}

/** `GET http://host/target` (src/stages/key.ts) → its host and target. */
export function keyParts(key: string): { host: string; target: string } | undefined {
  const scheme = key.indexOf('://')
  if (scheme === -1) return undefined
  const slash = key.indexOf('/', scheme + 3)
  if (slash === -1) return undefined
  return { host: key.slice(scheme + 3, slash), target: key.slice(slash) }
}

/**
 * Whether a record stored under `id` is one the target names. A vary index matches by its id
 * alone (URL targets): it names no URL of its own, and its variants match on their own keys.
 */
export function recordMatches(id: string, record: CacheRecord, target: PurgeTarget): boolean {
  switch (target.kind) {
    case 'all':
      return true
    case 'tag':
      return record.kind === 'entry' && record.tags !== undefined && record.tags.includes(target.tag)
    case 'url':
      if (target.ids.length > 0) return target.ids.includes(primaryOf(id))
      if (record.kind !== 'entry') return false
      return sameUrl(keyParts(record.key), target.host, target.target)
    case 'prefix': {
      if (record.kind !== 'entry') return false
      const parts = keyParts(record.key)
      return parts !== undefined && (target.host === undefined || parts.host === target.host) && parts.target.startsWith(target.prefix)
    }
  }
}

function sameUrl(parts: { host: string; target: string } | undefined, host: string | undefined, target: string): boolean {
  return parts !== undefined && parts.target === target && (host === undefined || parts.host === host)
}

/**
 * The entry, stale from `now` on: its stale windows keep their lengths and start now (a window
 * measured from the old expiry would make a purged entry servable as long as it had been fresh).
 */
export function softened(entry: CacheEntry, now: number): CacheEntry {
  const stale = staleFrom(entry, now)
  return stale === entry ? entry : { ...stale, version: newVersion() }
}

/**
 * The entry as a soft purge at `at` leaves it (see softened), but the same record: its version
 * unchanged, for a reader that applies a purge the store itself did not (VaryIndex.softenedAt).
 */
export function staleFrom(entry: CacheEntry, at: number): CacheEntry {
  if (entry.staleAt <= at) return entry
  return {
    ...entry,
    staleAt: at,
    swrUntil: at + Math.max(0, entry.swrUntil - entry.staleAt),
    sieUntil: at + Math.max(0, entry.sieUntil - entry.staleAt),
  }
}

/** A variant as its vary index has it: stale from the URI's last soft purge if it was fetched before it. */
export function underIndex(index: VaryIndex, entry: CacheEntry): CacheEntry {
  const at = index.softenedAt
  return at === undefined || entry.requestTime > at ? entry : staleFrom(entry, at)
}
