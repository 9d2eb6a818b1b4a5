/**
 * Cache-Control parsing (RFC 9111 §5.2), request and response.
 *
 * A small hand-written tokenizer, because reading is where `cache-control-parser` falls short of
 * what a cache must see: it splits on every comma (so `no-cache="a, b"` and `ext="x, max-age=1"`
 * break), turns field-qualified `no-cache` / `private` into `true`, accepts `max-age=100a` via
 * parseInt, keeps the last duplicate silently and knows no request directives. Writing is where it
 * does well: it serializes the route's `clientCacheControl` (config/index.ts).
 */
import type { RequestDirectives, ResponseDirectives } from './types.js'
import { BACKSLASH, COMMA, DQUOTE, EQUALS, HTAB, SP } from './chars.js'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** RFC 9111 §1.2.2: a delta-seconds too large to represent is taken as 2^31. */
export const MAX_DELTA_SECONDS = 2_147_483_648

/**
 * RFC 9111 §1.2.2: `delta-seconds = 1*DIGIT`; leading zeros are fine, anything else (sign, dot,
 * letters, empty) is invalid. Values above 2^31 clamp to 2^31.
 */
export function parseDeltaSeconds(value: string | undefined): number | undefined {
  if (value === undefined || value.length === 0) return undefined
  let n = 0
  for (let i = 0; i < value.length; i++) {
    const digit = value.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return undefined
    if (n <= MAX_DELTA_SECONDS) n = n * 10 + digit
  }
  return n > MAX_DELTA_SECONDS ? MAX_DELTA_SECONDS : n
}

/**
 * Called once per list element. `value` is the argument with quotes and quoted-pairs undone
 * (undefined when there is no `=`); `malformed` when the element had stray characters, an
 * empty argument or an unterminated quoted-string.
 */
type DirectiveVisitor = (name: string, value: string | undefined, malformed: boolean) => void

/** RFC 9110 §5.6.2 tchar. */
function isTchar(c: number): boolean {
  if (c >= 0x61 && c <= 0x7a) return true // a-z
  if (c >= 0x41 && c <= 0x5a) return true // A-Z
  if (c >= 0x30 && c <= 0x39) return true // 0-9
  switch (c) {
    case 0x21: // !
    case 0x23: // #
    case 0x24: // $
    case 0x25: // %
    case 0x26: // &
    case 0x27: // '
    case 0x2a: // *
    case 0x2b: // +
    case 0x2d: // -
    case 0x2e: // .
    case 0x5e: // ^
    case 0x5f: // _
    case 0x60: // `
    case 0x7c: // |
    case 0x7e: // ~
      return true
    default:
      return false
  }
}

/**
 * Walks `#cache-directive` (RFC 9111 §5.2: `token [ "=" ( token / quoted-string ) ]`) across every
 * field line. Commas inside quoted strings do not split; `max-age =1` / `max-age= 1` are malformed
 * (no whitespace around `=` in the grammar); directive names are case-insensitive.
 */
function visitDirectives(field: string | readonly string[] | undefined, visit: DirectiveVisitor): void {
  if (field === undefined) return
  if (typeof field === 'string') visitLine(field, visit)
  else for (const line of field) visitLine(line, visit)
}

function visitLine(s: string, visit: DirectiveVisitor): void {
  const n = s.length
  let i = 0
  while (i < n) {
    const c = s.charCodeAt(i)
    if (c === COMMA || c === SP || c === HTAB) {
      i++
      continue
    }
    const nameStart = i
    while (i < n && isTchar(s.charCodeAt(i))) i++
    const name = s.slice(nameStart, i).toLowerCase()
    let value: string | undefined
    let malformed = false
    if (i < n && s.charCodeAt(i) === EQUALS) {
      i++
      if (i < n && s.charCodeAt(i) === DQUOTE) {
        i++
        let out = ''
        let start = i
        let closed = false
        while (i < n) {
          const q = s.charCodeAt(i)
          if (q === BACKSLASH && i + 1 < n) {
            out += s.slice(start, i)
            start = i + 1 // keep the escaped character
            i += 2
          } else if (q === DQUOTE) {
            out += s.slice(start, i)
            i++
            closed = true
            break
          } else {
            i++
          }
        }
        if (!closed) {
          out += s.slice(start, i)
          malformed = true
        }
        value = out
      } else {
        const valueStart = i
        while (i < n && isTchar(s.charCodeAt(i))) i++
        value = s.slice(valueStart, i)
        if (value.length === 0) malformed = true
      }
    }
    while (i < n && (s.charCodeAt(i) === SP || s.charCodeAt(i) === HTAB)) i++
    if (i < n && s.charCodeAt(i) !== COMMA) {
      malformed = true
      i = skipToComma(s, i)
    }
    if (name.length > 0) visit(name, value, malformed)
  }
}

/** Index of the next comma outside a quoted string (or the end). */
function skipToComma(s: string, i: number): number {
  let quoted = false
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (quoted) {
      if (c === BACKSLASH) i++
      else if (c === DQUOTE) quoted = false
    } else if (c === DQUOTE) {
      quoted = true
    } else if (c === COMMA) {
      return i
    }
  }
  return i
}

/** `no-cache="a, B"` → ['a', 'b'] (lowercased, empty members dropped). */
function fieldNames(value: string): string[] {
  const names: string[] = []
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase()
    if (name.length > 0 && !names.includes(name)) names.push(name)
  }
  return names
}

/**
 * Unqualified wins over qualified; qualified lists merge. An empty or malformed qualifier is read
 * as unqualified: when unsure which fields the origin meant, restrict all of them.
 */
function mergeQualified(
  prev: boolean | readonly string[],
  value: string | undefined,
  malformed: boolean,
): boolean | readonly string[] {
  if (prev === true) return true
  if (value === undefined || malformed) return true
  const names = fieldNames(value)
  if (names.length === 0) return true
  if (prev === false) return names
  const merged = prev.slice()
  for (const name of names) if (!merged.includes(name)) merged.push(name)
  return merged
}

/**
 * Response Cache-Control. Unknown extensions are ignored (RFC 9111 §5.2.3); `max-age` / `s-maxage`
 * repeated with different values or with an invalid value set `conflicting` (RFC 9111 §4.2.1:
 * "either the first occurrence should be used or the response should be considered stale" — we
 * take the stale branch; "caches are encouraged to consider responses that have invalid freshness
 * information … to be stale"). Quoted arguments are accepted (RFC 9111 §5.2: recipients SHOULD
 * accept both forms).
 */
export function parseResponseCacheControl(value: string | readonly string[] | undefined): ResponseDirectives {
  const d: Mutable<ResponseDirectives> = {
    noStore: false,
    noCache: false,
    private: false,
    public: false,
    mustRevalidate: false,
    proxyRevalidate: false,
    mustUnderstand: false,
    noTransform: false,
    immutable: false,
    conflicting: false,
  }
  visitDirectives(value, (name, arg, malformed) => {
    switch (name) {
      case 'max-age':
      case 's-maxage': {
        const seconds = malformed ? undefined : parseDeltaSeconds(arg)
        const key = name === 'max-age' ? 'maxAge' : 'sMaxage'
        // An s-maxage, even unreadable, still says proxy-revalidate for a shared cache (§5.2.2.10).
        if (seconds === undefined && name === 's-maxage') d.proxyRevalidate = true
        if (seconds === undefined) d.conflicting = true
        else if (d[key] === undefined) d[key] = seconds
        else if (d[key] !== seconds) d.conflicting = true
        break
      }
      case 'stale-while-revalidate':
      case 'stale-if-error': {
        // RFC 5861 windows only ever widen what may be served: an invalid one is ignored and
        // repeated ones keep the smallest.
        const seconds = malformed ? undefined : parseDeltaSeconds(arg)
        if (seconds === undefined) break
        const key = name === 'stale-while-revalidate' ? 'staleWhileRevalidate' : 'staleIfError'
        const prev = d[key]
        d[key] = prev === undefined ? seconds : Math.min(prev, seconds)
        break
      }
      case 'no-store':
        d.noStore = true
        break
      case 'no-cache':
        // RFC 9111 §5.2.2.4: the argument, if any, is a list of field names.
        d.noCache = mergeQualified(d.noCache, arg, malformed)
        break
      case 'private':
        // RFC 9111 §5.2.2.7: likewise; only the named fields are private.
        d.private = mergeQualified(d.private, arg, malformed)
        break
      // Directives that only relax (public, immutable) are not honoured when malformed;
      // those that restrict are honoured regardless.
      case 'public':
        if (!malformed) d.public = true
        break
      case 'immutable':
        if (!malformed) d.immutable = true
        break
      case 'must-revalidate':
        d.mustRevalidate = true
        break
      case 'proxy-revalidate':
        d.proxyRevalidate = true
        break
      case 'must-understand':
        d.mustUnderstand = true
        break
      case 'no-transform':
        d.noTransform = true
        break
      default:
        break
    }
  })
  return d
}

/**
 * Request Cache-Control (RFC 9111 §5.2.1). Invalid arguments drop the directive; repeated ones keep
 * the most restrictive value (smallest max-age / max-stale / stale-if-error, largest min-fresh).
 *
 * `Pragma: no-cache` counts as `Cache-Control: no-cache` only when the request has no Cache-Control
 * field at all (RFC 7234 §5.4; RFC 9111 §5.4 keeps Pragma only for HTTP/1.0 compatibility).
 */
export function parseRequestCacheControl(
  cacheControl: string | readonly string[] | undefined,
  pragma: string | readonly string[] | undefined,
): RequestDirectives {
  const d: Mutable<RequestDirectives> = { noCache: false, noStore: false, onlyIfCached: false }
  if (cacheControl === undefined) {
    if (pragma !== undefined) {
      visitDirectives(pragma, (name) => {
        if (name === 'no-cache') d.noCache = true
      })
    }
    return d
  }
  visitDirectives(cacheControl, (name, arg, malformed) => {
    switch (name) {
      case 'max-age': {
        const seconds = malformed ? undefined : parseDeltaSeconds(arg)
        if (seconds !== undefined) d.maxAge = d.maxAge === undefined ? seconds : Math.min(d.maxAge, seconds)
        break
      }
      case 'max-stale': {
        // RFC 9111 §5.2.1.2: without a value, a stale response of any age is acceptable.
        const seconds = arg === undefined && !malformed ? Infinity : malformed ? undefined : parseDeltaSeconds(arg)
        if (seconds !== undefined) d.maxStale = d.maxStale === undefined ? seconds : Math.min(d.maxStale, seconds)
        break
      }
      case 'min-fresh': {
        const seconds = malformed ? undefined : parseDeltaSeconds(arg)
        if (seconds !== undefined) d.minFresh = d.minFresh === undefined ? seconds : Math.max(d.minFresh, seconds)
        break
      }
      case 'stale-if-error': {
        const seconds = malformed ? undefined : parseDeltaSeconds(arg)
        if (seconds !== undefined)
          d.staleIfError = d.staleIfError === undefined ? seconds : Math.min(d.staleIfError, seconds)
        break
      }
      case 'no-cache':
        d.noCache = true
        break
      case 'no-store':
        d.noStore = true
        break
      case 'only-if-cached':
        d.onlyIfCached = true
        break
      default:
        break
    }
  })
  return d
}
