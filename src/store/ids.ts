/**
 * The ids records and locks are kept under. A primary id is the hash of a URI key (22
 * base64url characters, never a ':'); every id that belongs to the same URI starts with it and a
 * ':', so that an adapter can keep them together (redis: `{<primary>}` hash tags, one slot).
 */
import { createHash, randomBytes } from 'node:crypto'

/** Recent key → id results: a Map lookup is far cheaper than sha-256 on the hit path. */
const recentIds = new Map<string, string>()
const RECENT_IDS_MAX = 10_000

/** sha-256 of `text`, base64url, 22 chars (128 bits). */
export function hashId(text: string): string {
  let id = recentIds.get(text)
  if (id !== undefined) return id
  id = createHash('sha256').update(text).digest('base64url').slice(0, 22)
  if (recentIds.size >= RECENT_IDS_MAX) recentIds.clear()
  recentIds.set(text, id)
  return id
}

/**
 * The id of one variant, next to its primary id. `generation` comes from the vary index: a new
 * index after an invalidation starts a new generation, so variants stored before it can never be
 * reached again.
 */
export function variantId(id: string, generation: string, selector: string, varySignature: string): string {
  return `${id}:v:${hashId(`${generation}\n${selector}\n${varySignature}`)}`
}

/**
 * The lock a flight takes: the key's own until its responses are known to vary, then one per
 * variant (selector and Vary signature), so that a crowd asking for several variants makes one
 * origin request per variant.
 */
export function lockId(id: string, variant?: { readonly selector: string; readonly varySignature: string }): string {
  return variant === undefined ? id : `${id}:f:${hashId(`${variant.selector}\n${variant.varySignature}`)}`
}

/** The primary id an id belongs to. */
export function primaryOf(id: string): string {
  const colon = id.indexOf(':')
  return colon === -1 ? id : id.slice(0, colon)
}

export function newGeneration(): string {
  return randomBytes(6).toString('base64url')
}

/** Fixed width, so that scripts can read it at a fixed offset of an encoded record (src/store/codec.ts). */
export const VERSION_LENGTH = 12

// A random prefix per process and a counter: unique across the fleet without a random draw per write.
const versionPrefix = randomBytes(6).toString('base64url').slice(0, 6)
let versionCounter = 0

export function newVersion(): string {
  versionCounter = (versionCounter + 1) % 2_176_782_336 // 36^6: the counter always fits its six characters
  return versionPrefix + versionCounter.toString(36).padStart(6, '0')
}
