/**
 * Conditional requests (RFC 9110 §8.8.3, §13): entity-tag comparison, evaluating a client's
 * preconditions against a stored response (the hit path: no allocation for entity-tag lists),
 * and the validators corral sends when it revalidates with the origin (RFC 9111 §4.3.1).
 */
import { parseHttpDate } from './freshness.js'
import { COMMA, DQUOTE, isWs, SLASH } from './chars.js'
import type { HeaderMap } from './types.js'

/** An entity-tag (RFC 9110 §8.8.3): `opaque` is the tag without its quotes. */
export interface EntityTag {
  readonly weak: boolean
  readonly opaque: string
}

// Result of locateTag: written by it, read right after (no allocation on the hit path).
let foundWeak = false
let foundStart = 0
let foundEnd = 0

/**
 * Locates the tag in `s[start, end)` (a trimmed list member). `entity-tag = [ "W/" ] DQUOTE *etagc
 * DQUOTE` (RFC 9110 §8.8.3). Leniencies, applied to both sides of a comparison alike: `w/` counts as
 * weak; an unquoted tag without any DQUOTE (`abc`) is read as `"abc"`; anything else malformed is
 * kept whole as a strong tag, so it only ever matches the identical text.
 */
function locateTag(s: string, start: number, end: number): void {
  let i = start
  foundWeak = false
  if (end - i > 2 && (s.charCodeAt(i) === 0x57 || s.charCodeAt(i) === 0x77) && s.charCodeAt(i + 1) === SLASH) {
    foundWeak = true
    i += 2
  }
  const quoteAt = s.indexOf('"', i)
  if (quoteAt === i && end - i >= 2 && s.charCodeAt(end - 1) === DQUOTE && s.indexOf('"', i + 1) === end - 1) {
    foundStart = i + 1
    foundEnd = end - 1
    return
  }
  if ((quoteAt === -1 || quoteAt >= end) && i < end) {
    foundStart = i
    foundEnd = end
    return
  }
  foundWeak = false
  foundStart = start
  foundEnd = end
}

/** Parses one entity-tag (e.g. an ETag field value); undefined when empty. */
export function parseEntityTag(value: string): EntityTag | undefined {
  let start = 0
  let end = value.length
  while (start < end && isWs(value.charCodeAt(start))) start++
  while (end > start && isWs(value.charCodeAt(end - 1))) end--
  if (start === end) return undefined
  locateTag(value, start, end)
  return { weak: foundWeak, opaque: value.slice(foundStart, foundEnd) }
}

/**
 * Parses `If-Match` / `If-None-Match` style lists (`"*" / #entity-tag`) across repeated lines:
 * `'*'` when any member is `*`, else the tags (commas inside quotes do not split).
 */
export function parseETagList(value: string | readonly string[] | undefined): readonly EntityTag[] | '*' {
  const tags: EntityTag[] = []
  if (value === undefined) return tags
  const lines = typeof value === 'string' ? [value] : value
  for (const line of lines) {
    let i = 0
    while (i < line.length) {
      const [start, end, next] = nextMember(line, i)
      i = next
      if (start === end) continue
      if (end - start === 1 && line.charCodeAt(start) === 0x2a) return '*'
      locateTag(line, start, end)
      tags.push({ weak: foundWeak, opaque: line.slice(foundStart, foundEnd) })
    }
  }
  return tags
}

/** [start, end) of the trimmed list member starting at `i`, and where the next one starts. */
function nextMember(s: string, i: number): [number, number, number] {
  const n = s.length
  while (i < n && (isWs(s.charCodeAt(i)) || s.charCodeAt(i) === COMMA)) i++
  const start = i
  let quoted = false
  while (i < n) {
    const c = s.charCodeAt(i)
    if (c === DQUOTE) quoted = !quoted
    else if (c === COMMA && !quoted) break
    i++
  }
  let end = i
  while (end > start && isWs(s.charCodeAt(end - 1))) end--
  return [start, end, i]
}

function asTag(t: string | EntityTag): EntityTag | undefined {
  return typeof t === 'string' ? parseEntityTag(t) : t
}

/** RFC 9110 §8.8.3.2 weak comparison: the opaque tags match, either or both may be weak. */
export function weakMatch(a: string | EntityTag, b: string | EntityTag): boolean {
  const x = asTag(a)
  const y = asTag(b)
  return x !== undefined && y !== undefined && x.opaque === y.opaque
}

/** RFC 9110 §8.8.3.2 strong comparison: neither is weak and the opaque tags match. */
export function strongMatch(a: string | EntityTag, b: string | EntityTag): boolean {
  const x = asTag(a)
  const y = asTag(b)
  return x !== undefined && y !== undefined && !x.weak && !y.weak && x.opaque === y.opaque
}

/**
 * Whether any member of the list `field` matches the stored ETag (`*` matches any stored
 * representation). Scans in place: no member strings are built.
 */
function listMatches(field: string | readonly string[], storedEtag: string | undefined, strong: boolean): boolean {
  if (typeof field === 'string') return lineMatches(field, storedEtag, strong)
  for (const line of field) if (lineMatches(line, storedEtag, strong)) return true
  return false
}

function lineMatches(line: string, storedEtag: string | undefined, strong: boolean): boolean {
  let sWeak = false
  let sStart = 0
  let sEnd = 0
  if (storedEtag !== undefined) {
    let start = 0
    let end = storedEtag.length
    while (start < end && isWs(storedEtag.charCodeAt(start))) start++
    while (end > start && isWs(storedEtag.charCodeAt(end - 1))) end--
    if (start < end) {
      locateTag(storedEtag, start, end)
      sWeak = foundWeak
      sStart = foundStart
      sEnd = foundEnd
    } else {
      storedEtag = undefined
    }
  }
  const n = line.length
  let i = 0
  while (i < n) {
    while (i < n && (isWs(line.charCodeAt(i)) || line.charCodeAt(i) === COMMA)) i++
    const start = i
    let quoted = false
    while (i < n) {
      const c = line.charCodeAt(i)
      if (c === DQUOTE) quoted = !quoted
      else if (c === COMMA && !quoted) break
      i++
    }
    let end = i
    while (end > start && isWs(line.charCodeAt(end - 1))) end--
    if (start === end) continue
    if (end - start === 1 && line.charCodeAt(start) === 0x2a) return true
    if (storedEtag === undefined) continue
    locateTag(line, start, end)
    if (strong && (foundWeak || sWeak)) continue
    if (sameText(line, foundStart, foundEnd, storedEtag, sStart, sEnd)) return true
  }
  return false
}

function sameText(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): boolean {
  const len = aEnd - aStart
  if (len !== bEnd - bStart) return false
  for (let k = 0; k < len; k++) if (a.charCodeAt(aStart + k) !== b.charCodeAt(bStart + k)) return false
  return true
}

/** What the stored response offers to precondition evaluation (a CacheEntry fits). */
export interface StoredValidators {
  readonly status: number
  readonly etag?: string | undefined
  readonly lastModified?: string | undefined
  /** The stored Date: stands in for Last-Modified in If-Modified-Since (RFC 9111 §4.3.2). */
  readonly date?: string | undefined
  /** When the stored response was received: the last stand-in for If-Modified-Since (RFC 9111 §4.3.2). */
  readonly responseTime?: number | undefined
}

/** A single HTTP-date field value; undefined when absent, repeated or invalid (RFC 9110 §13.1.3, §13.1.4). */
function singleDate(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') return value.length === 1 ? parseHttpDate(value[0]) : undefined
  return parseHttpDate(value)
}

/**
 * Evaluates the request's preconditions against a stored response, in RFC 9110 §13.2.2 order:
 * 1. If-Match (strong comparison; `*` matches, since a representation is stored) false → 412;
 * 2. else If-Unmodified-Since, when Last-Modified is known, later than it → 412;
 * 3. If-None-Match (weak comparison) matching → 304 for GET/HEAD, 412 for other methods;
 * 4. else, for GET/HEAD, If-Modified-Since not earlier than the last modification → 304. Without
 *    Last-Modified, the stored Date, else the receipt time, is used (RFC 9111 §4.3.2), when given.
 * Only for stored 2xx responses (RFC 9110 §13.2.1: preconditions are ignored otherwise); undefined
 * when the full response should be sent.
 */
export function evaluatePreconditions(
  reqHeaders: HeaderMap,
  v: StoredValidators,
  method: string,
): 'not-modified' | 'precondition-failed' | undefined {
  if (v.status < 200 || v.status > 299) return undefined
  const ifMatch = reqHeaders['if-match']
  if (ifMatch !== undefined) {
    if (!listMatches(ifMatch, v.etag, true)) return 'precondition-failed'
  } else {
    const ius = singleDate(reqHeaders['if-unmodified-since'])
    if (ius !== undefined && v.lastModified !== undefined) {
      const lm = parseHttpDate(v.lastModified)
      if (lm !== undefined && lm > ius) return 'precondition-failed'
    }
  }
  const isRead = method === 'GET' || method === 'HEAD'
  const ifNoneMatch = reqHeaders['if-none-match']
  if (ifNoneMatch !== undefined) {
    if (listMatches(ifNoneMatch, v.etag, false)) return isRead ? 'not-modified' : 'precondition-failed'
    return undefined
  }
  if (!isRead) return undefined
  const ims = singleDate(reqHeaders['if-modified-since'])
  if (ims === undefined) return undefined
  const modifiedMs = lastModifiedMs(v)
  if (modifiedMs !== undefined && modifiedMs <= ims) return 'not-modified'
  return undefined
}

function lastModifiedMs(v: StoredValidators): number | undefined {
  if (v.lastModified !== undefined) return parseHttpDate(v.lastModified)
  if (v.date !== undefined) {
    const date = parseHttpDate(v.date)
    if (date !== undefined) return date
  }
  return v.responseTime
}

/**
 * RFC 9111 §4.3.4: does a 304 answer for this stored response? A strong ETag in the 304 must
 * match the stored one strongly, a weak one weakly; without an ETag, a Last-Modified must equal
 * the stored one; a 304 with no validator at all is taken to answer the request it was sent for.
 * When it does not match, the cache must not use it to update the entry.
 */
export function notModifiedMatches(stored: { etag?: string; lastModified?: string }, headers: HeaderMap): boolean {
  const etag = single(headers.etag)
  if (etag !== undefined) {
    const tag = parseEntityTag(etag)
    if (tag === undefined || stored.etag === undefined) return false
    return tag.weak ? weakMatch(tag, stored.etag) : strongMatch(tag, stored.etag)
  }
  const lastModified = single(headers['last-modified'])
  if (lastModified !== undefined) return stored.lastModified !== undefined && lastModified.trim() === stored.lastModified.trim()
  return true
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

/**
 * The validators to ask the origin with (RFC 9111 §4.3.1): the stored ETag as If-None-Match
 * (MUST when there is one), and Last-Modified as If-Modified-Since (SHOULD when it is the only
 * validator, MAY alongside an ETag; sending both helps origins that only check dates). Values are
 * sent as stored; an unparseable Last-Modified is not sent.
 */
export function revalidationHeaders(v: {
  readonly etag?: string | undefined
  readonly lastModified?: string | undefined
}): Record<string, string> {
  const out: Record<string, string> = {}
  if (v.etag !== undefined && v.etag.trim().length > 0) out['if-none-match'] = v.etag.trim()
  if (v.lastModified !== undefined && parseHttpDate(v.lastModified) !== undefined) {
    out['if-modified-since'] = v.lastModified.trim()
  }
  return out
}
