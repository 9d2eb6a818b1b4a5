/**
 * Range requests served from a stored full response (RFC 9110 §14): decides whether a GET gets
 * the whole stored body (200), one part or several parts (206), or a 416, and builds the
 * `Content-Range` values and the `multipart/byteranges` body (§14.6). Pure: the caller owns the
 * status line and header fields.
 */
import { randomBytes } from 'node:crypto'
import { parseEntityTag, strongMatch } from './conditional.js'
import { parseHttpDate } from './freshness.js'
import type { HeaderMap } from './types.js'

/** What to send for a request; offsets are inclusive, as in `Content-Range`. */
export type RangePlan =
  | { kind: 'full' }
  | { kind: 'single'; start: number; end: number }
  | { kind: 'multi'; ranges: Array<{ start: number; end: number }> }
  | { kind: 'unsatisfiable' }

/** The stored response a range would be cut from (a CacheEntry plus its body length fits). */
export interface RangeSource {
  readonly status: number
  /** Octets in the stored body: the selected representation as stored (after any Content-Encoding). */
  readonly length: number
  readonly etag?: string | undefined
  readonly lastModified?: string | undefined
  /**
   * The stored Date field. An If-Range date is a strong validator for a cache only when Date is at
   * least one second after Last-Modified (RFC 9110 §8.8.2.2); without it a date If-Range never holds.
   */
  readonly date?: string | undefined
}

/**
 * At most this many parts in one multipart response, after coalescing. RFC 9110 §14.2 lets a
 * server ignore range sets that look like a broken client or a denial-of-service attempt.
 */
export const MAX_RANGE_PARTS = 16

const FULL: RangePlan = Object.freeze({ kind: 'full' })
const UNSATISFIABLE: RangePlan = Object.freeze({ kind: 'unsatisfiable' })

interface Span {
  start: number
  end: number
}

/**
 * Plans the response to a possibly ranged request against a stored full response:
 * - RFC 9110 §14.2: range handling is defined for GET only (HEAD is planned like GET so its header
 *   fields match, §9.3.2); anything else, a stored status other than 200, no `Range`, a unit other
 *   than `bytes`, or an invalid ranges-specifier → full (the Range field is ignored);
 * - §13.1.5: an If-Range that does not hold → full;
 * - §14.1.2: unsatisfiable members are dropped; none left → unsatisfiable (416, §15.5.17);
 * - §14.2 abuse guards: ranges whose lengths add up to more than the representation → full;
 *   overlapping or adjacent ranges are coalesced (§15.3.7.2 allows it in any order); more than
 *   `MAX_RANGE_PARTS` parts left → full.
 */
export function planRange(reqHeaders: HeaderMap, stored: RangeSource, method: string): RangePlan {
  if (method !== 'GET' && method !== 'HEAD') return FULL
  if (stored.status !== 200) return FULL
  const range = singleValue(reqHeaders['range'])
  if (range === undefined) return FULL
  const specs = parseByteRanges(range)
  if (specs === undefined) return FULL
  // §13.1.5: a recipient MUST ignore the Range field when the If-Range condition is false.
  if (!ifRangeHolds(reqHeaders['if-range'], stored)) return FULL

  const length = stored.length
  const spans: Span[] = []
  let requested = 0
  for (const spec of specs) {
    const span = resolve(spec, length)
    if (span === undefined) continue
    spans.push(span)
    requested += span.end - span.start + 1
  }
  if (spans.length === 0) return UNSATISFIABLE
  // §14.2 (and RFC 7233 §6.1): asking for more octets than exist means overlapping ranges; the
  // whole representation is cheaper to send than the amplified multipart body.
  if (requested > length) return FULL
  const parts = coalesce(spans)
  const first = parts[0]
  if (parts.length === 1 && first !== undefined) return { kind: 'single', start: first.start, end: first.end }
  if (parts.length > MAX_RANGE_PARTS) return FULL
  return { kind: 'multi', ranges: parts }
}

/** A field that must appear once; a repeated Range or If-Range is not trusted. */
function singleValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined || typeof value === 'string') return value
  return value.length === 1 ? value[0] : undefined
}

/** A byte-range-spec before it meets the representation: `first` undefined is a suffix-range. */
interface ByteRangeSpec {
  readonly first: number | undefined
  readonly last: number | undefined
}

const UNIT = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
// int-range / suffix-range (§14.1.1); OWS around "-" tolerated.
const SPEC = /^(\d+)?[ \t]*-[ \t]*(\d+)?$/

/**
 * `ranges-specifier = range-unit "=" range-set` (RFC 9110 §14.1.1, §14.1.2), `range-set` a list
 * (§5.6.1: empty members are skipped, OWS around commas). Undefined when the unit is not `bytes`
 * (units are case-insensitive, §14.1) or anything is invalid, including `last-pos < first-pos`.
 */
function parseByteRanges(value: string): ByteRangeSpec[] | undefined {
  const eq = value.indexOf('=')
  if (eq === -1) return undefined
  const unit = value.slice(0, eq).trim()
  if (!UNIT.test(unit) || unit.toLowerCase() !== 'bytes') return undefined
  const specs: ByteRangeSpec[] = []
  for (const raw of value.slice(eq + 1).split(',')) {
    const member = raw.trim()
    if (member.length === 0) continue
    const m = SPEC.exec(member)
    if (m === null) return undefined
    const first = m[1] === undefined ? undefined : Number(m[1])
    const last = m[2] === undefined ? undefined : Number(m[2])
    if (first === undefined && last === undefined) return undefined
    if (first !== undefined && last !== undefined && last < first) return undefined
    specs.push({ first, last })
  }
  return specs.length === 0 ? undefined : specs
}

/**
 * The octets a spec selects, or undefined when it is unsatisfiable (RFC 9110 §14.1.2): an int-range
 * needs `first-pos < length` and its last-pos is clamped to `length - 1`; a suffix-range needs a
 * non-zero suffix-length and covers the whole representation when longer than it. §14.1.2 calls a
 * non-zero suffix satisfiable even on an empty representation, but no `Content-Range` can describe
 * zero octets, so every range of an empty representation is unsatisfiable here.
 */
function resolve(spec: ByteRangeSpec, length: number): Span | undefined {
  if (length <= 0) return undefined
  if (spec.first === undefined) {
    const suffix = spec.last ?? 0
    if (suffix === 0) return undefined
    return { start: Math.max(0, length - suffix), end: length - 1 }
  }
  if (spec.first >= length) return undefined
  return { start: spec.first, end: Math.min(spec.last ?? length - 1, length - 1) }
}

/**
 * Merges overlapping and adjacent spans (RFC 9110 §15.3.7.2: a server MAY coalesce ranges that
 * overlap). Each merged part keeps the position of its earliest-listed member, so ranges that need
 * no merging stay in the order requested (§15.3.7.2: parts SHOULD follow the request's order).
 */
function coalesce(spans: readonly Span[]): Span[] {
  if (spans.length === 1) return [...spans]
  const byStart = spans
    .map((s, i) => ({ start: s.start, end: s.end, firstIndex: i }))
    .sort((a, b) => a.start - b.start || a.firstIndex - b.firstIndex)
  const groups: typeof byStart = []
  for (const s of byStart) {
    const last = groups[groups.length - 1]
    if (last !== undefined && s.start <= last.end + 1) {
      last.end = Math.max(last.end, s.end)
      last.firstIndex = Math.min(last.firstIndex, s.firstIndex)
    } else {
      groups.push(s)
    }
  }
  groups.sort((a, b) => a.firstIndex - b.firstIndex)
  return groups.map((g) => ({ start: g.start, end: g.end }))
}

/**
 * RFC 9110 §13.1.5 `If-Range = entity-tag / HTTP-date`; true when absent. An entity-tag holds only
 * on a strong match with the stored ETag (a weak tag never does). A date holds only when it is a
 * valid HTTP-date equal to the stored Last-Modified and that Last-Modified is a strong validator:
 * for a cache, the stored Date is at least one second later (§8.8.2.2). Anything else → false, so
 * the full representation is sent: the safe answer when in doubt.
 */
function ifRangeHolds(value: string | string[] | undefined, stored: RangeSource): boolean {
  if (value === undefined) return true
  const v = singleValue(value)?.trim()
  if (v === undefined || v.length === 0) return false
  // The two forms are told apart by their first two characters (a date starts with a day name).
  const c0 = v.charCodeAt(0)
  if (c0 === 0x22 || ((c0 === 0x57 || c0 === 0x77) && v.charCodeAt(1) === 0x2f)) {
    const tag = parseEntityTag(v)
    return tag !== undefined && !tag.weak && stored.etag !== undefined && strongMatch(tag, stored.etag)
  }
  const dateMs = parseHttpDate(v)
  if (dateMs === undefined || stored.lastModified === undefined) return false
  const lastModifiedMs = parseHttpDate(stored.lastModified)
  if (lastModifiedMs !== dateMs) return false
  const storedDateMs = stored.date === undefined ? undefined : parseHttpDate(stored.date)
  return storedDateMs !== undefined && storedDateMs - lastModifiedMs >= 1_000
}

/** `Content-Range` of a 206 part (RFC 9110 §14.4): `bytes 0-499/1234`. */
export function contentRange(start: number, end: number, length: number): string {
  return `bytes ${start}-${end}/${length}`
}

/** `Content-Range` of a 416 (RFC 9110 §14.4, §15.5.17): `bytes`, then `*` for the range, then `/length`. */
export function unsatisfiedRange(length: number): string {
  return `bytes */${length}`
}

// RFC 2046 §5.1.1: 1 to 70 bchars, not ending in a space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

function assertBoundary(boundary: string): void {
  if (!BOUNDARY.test(boundary)) throw new RangeError(`invalid multipart boundary: ${JSON.stringify(boundary)}`)
}

/** `Content-Type` of a multipart 206 (RFC 9110 §14.6); the boundary is quoted when it is not a token. */
export function multipartContentType(boundary: string): string {
  assertBoundary(boundary)
  return `multipart/byteranges; boundary=${TOKEN.test(boundary) ? boundary : `"${boundary}"`}`
}

/** A fresh boundary: 24 base64url characters (144 random bits), all RFC 2046 bchars and a token. */
export function randomBoundary(): string {
  return randomBytes(18).toString('base64url')
}

/**
 * The `multipart/byteranges` body of a 206 (RFC 9110 §14.6): each part carries `Content-Type`
 * (when the full response has one) and `Content-Range`, then its octets; CRLF line endings, the
 * closing delimiter `--boundary--` followed by CRLF. Parts are sent in the order given.
 * Throws RangeError on a part outside `[0, length)`, or `body` shorter than `length`.
 */
export function multipartBody(
  parts: ReadonlyArray<{ readonly start: number; readonly end: number }>,
  body: Buffer,
  contentType: string | undefined,
  length: number,
  boundary: string,
): Buffer {
  assertBoundary(boundary)
  if (parts.length === 0) throw new RangeError('multipart/byteranges needs at least one part')
  if (body.length < length) throw new RangeError(`body has ${body.length} octets, expected ${length}`)
  const typeLine = contentType === undefined ? '' : `Content-Type: ${contentType}\r\n`
  const chunks: Buffer[] = []
  let total = 0
  parts.forEach((p, i) => {
    const isValid = Number.isSafeInteger(p.start) && Number.isSafeInteger(p.end) && p.start >= 0 && p.start <= p.end
    if (!isValid || p.end >= length) throw new RangeError(`part ${p.start}-${p.end} is outside 0-${length - 1}`)
    // RFC 2046 §5.1.1: the CRLF before a delimiter belongs to the delimiter, not to the part.
    const head = Buffer.from(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\n${typeLine}Content-Range: ${contentRange(p.start, p.end, length)}\r\n\r\n`,
      'latin1',
    )
    const octets = body.subarray(p.start, p.end + 1)
    chunks.push(head, octets)
    total += head.length + octets.length
  })
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1')
  chunks.push(tail)
  return Buffer.concat(chunks, total + tail.length)
}
