/**
 * Vary (RFC 9110 §12.5.5, RFC 9111 §4.1): which request fields select a stored variant, and the
 * signature of a request's values for them. `varySignature` runs on every lookup of a varying
 * key, so it returns the request's own strings untouched when they are already canonical.
 */
import type { HeaderMap } from './types.js'
import { BACKSLASH, COMMA, DQUOTE, EQUALS, isWs, SEMICOLON, SP } from './chars.js'

const NO_NAMES: readonly string[] = Object.freeze([])

/**
 * The Vary field names, lowercased, deduplicated and sorted, across repeated Vary lines; `'*'`
 * when any member is `*` (RFC 9111 §4.1: a Vary of `*` always fails to match); an empty list when
 * there is no Vary.
 */
export function parseVary(headers: HeaderMap): readonly string[] | '*' {
  const vary = headers.vary
  if (vary === undefined) return NO_NAMES
  const names: string[] = []
  const lines = typeof vary === 'string' ? [vary] : vary
  for (const line of lines) {
    for (const part of line.split(',')) {
      const name = part.trim().toLowerCase()
      if (name.length === 0) continue
      if (name === '*') return '*'
      if (!names.includes(name)) names.push(name)
    }
  }
  return names.length === 0 ? NO_NAMES : names.sort()
}

/** Whether Vary contains `*` anywhere in its list, without building the list. */
export function hasVaryStar(headers: HeaderMap): boolean {
  const vary = headers.vary
  if (vary === undefined) return false
  if (typeof vary === 'string') return lineHasStar(vary)
  for (const line of vary) if (lineHasStar(line)) return true
  return false
}

function lineHasStar(line: string): boolean {
  if (!line.includes('*')) return false
  for (const part of line.split(',')) if (part.trim() === '*') return true
  return false
}

/**
 * List-valued request fields whose members are case-insensitive (RFC 9110 §12.5: media types,
 * content codings, charsets and parameter names; RFC 4647 language tags). Their values are
 * lowercased and stripped of whitespace around `;` and `=` as well. Member order is kept: with
 * q-values and preference order, `gzip, br` and `br, gzip` may select different responses, and
 * sorting would merge them.
 */
const CASE_INSENSITIVE_LISTS: ReadonlySet<string> = new Set([
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
])

/**
 * Of those, the one whose parameter values may be case-sensitive (RFC 9110 §12.5.1, §5.6.6: only
 * the type, subtype and parameter names are not): `version=A` and `version=a` stay apart.
 */
const CASE_SENSITIVE_PARAMETER_VALUES = 'accept'

/**
 * A deterministic string of the request's values for the Vary fields `names` (as parseVary
 * returns them): one `name=value` per field, joined by `\n` (which no field value can contain);
 * an absent field is just `name`, so absent differs from empty (`name=`). Repeated lines are
 * combined with ', ' (RFC 9110 §5.3) and values canonicalized by `normalizeFieldValue`.
 */
export function varySignature(names: readonly string[], reqHeaders: HeaderMap): string {
  let sig = ''
  let first = true
  for (const name of names) {
    if (!first) sig += '\n'
    first = false
    sig += name
    const raw = reqHeaders[name]
    if (raw === undefined) continue
    if (typeof raw === 'string') {
      sig += '='
      sig += normalizeFieldValue(name, raw)
    } else if (raw.length > 0) {
      sig += '='
      sig += normalizeFieldValue(name, raw.length === 1 ? (raw[0] as string) : raw.join(', '))
    }
  }
  return sig
}

/**
 * Canonical form of a (combined) field value, for comparing selecting fields:
 * - list members are trimmed, empty members dropped, and rejoined with ', ';
 * - for CASE_INSENSITIVE_LISTS also: letters lowercased and whitespace around `;` / `=` removed;
 * - quoted strings are copied verbatim (commas in them do not split).
 * Returns `value` itself when it is already canonical (the common case: no allocation).
 */
export function normalizeFieldValue(name: string, value: string): string {
  const caseInsensitiveList = CASE_INSENSITIVE_LISTS.has(name)
  const keepValueCase = name === CASE_SENSITIVE_PARAMETER_VALUES
  const canonical = isCanonical(value, caseInsensitiveList, keepValueCase) ? value : canonicalize(value, caseInsensitiveList, keepValueCase)
  return name === 'accept-language' ? byPreference(canonical) : canonical
}

/**
 * RFC 9110 §12.4.2 / §12.5.4: in Accept-Language, preference is the q-value, not the order, so
 * `en, de` and `de, en` ask for the same thing. Members are ordered by q-value (highest first),
 * then by tag, and a `q=1` is dropped (it is the default). Other list fields keep their order.
 */
function byPreference(canonical: string): string {
  if (!canonical.includes(',') && !canonical.includes(';')) return canonical
  // A quoted string has no place in Accept-Language: leave such a value exactly as it came.
  if (canonical.includes('"')) return canonical
  const members: Array<{ text: string; q: number }> = []
  for (const member of canonical.split(', ')) {
    const parts = member.split(';')
    let q = 1
    const kept = [parts[0] ?? '']
    for (const param of parts.slice(1)) {
      if (param.startsWith('q=')) {
        // Only the qvalue grammar (RFC 9110 §12.4.2) is understood; anything else, and the
        // order the client wrote is kept as it is.
        if (!QVALUE.test(param.slice(2))) return canonical
        q = Number(param.slice(2))
      } else kept.push(param)
    }
    if (q !== 1) kept.push(`q=${q}`)
    members.push({ text: kept.join(';'), q })
  }
  members.sort((a, b) => b.q - a.q || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
  return members.map((m) => m.text).join(', ')
}

/** RFC 9110 §12.4.2: `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/

/** @internal Exported for tests. Builds the canonical form (see normalizeFieldValue). */
export function canonicalize(value: string, caseInsensitiveList: boolean, keepValueCase = false): string {
  let out = ''
  let member = ''
  let ws = '' // whitespace seen inside the member, kept only if more of the member follows
  let last = 0 // last character code appended to member outside a quoted string
  let quoted = false
  let inValue = false // after a parameter's `=`, up to the next `;` or `,`
  const n = value.length
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i)
    if (quoted) {
      member += value[i]
      if (c === BACKSLASH && i + 1 < n) member += value[++i]
      else if (c === DQUOTE) quoted = false
      last = c
      continue
    }
    if (isWs(c)) {
      const afterParamSep = caseInsensitiveList && (last === SEMICOLON || last === EQUALS)
      if (member.length > 0 && !afterParamSep) ws += value[i]
      continue
    }
    if (c === COMMA) {
      if (member.length > 0) out += out.length > 0 ? ', ' + member : member
      member = ''
      ws = ''
      last = 0
      inValue = false
      continue
    }
    if (caseInsensitiveList && (c === SEMICOLON || c === EQUALS)) {
      ws = ''
      member += value[i]
      last = c
      inValue = c === EQUALS
      continue
    }
    member += ws
    ws = ''
    const lower = caseInsensitiveList && !(keepValueCase && inValue)
    member += lower && c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 32) : value[i]
    if (c === DQUOTE) quoted = true
    last = c
  }
  if (member.length > 0) out += out.length > 0 ? ', ' + member : member
  return out
}

/** @internal Exported for tests. True exactly when canonicalize(value) === value, without allocating. */
export function isCanonical(value: string, caseInsensitiveList: boolean, keepValueCase = false): boolean {
  const n = value.length
  let memberLen = 0
  let pendingWs = 0
  let last = 0
  let quoted = false
  let afterComma = false
  let inValue = false
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i)
    if (quoted) {
      memberLen++
      if (c === BACKSLASH && i + 1 < n) {
        i++
        memberLen++
      } else if (c === DQUOTE) quoted = false
      last = c
      continue
    }
    if (isWs(c)) {
      if (memberLen === 0) return false // leading whitespace
      if (caseInsensitiveList && (last === SEMICOLON || last === EQUALS)) return false
      pendingWs++
      continue
    }
    if (c === COMMA) {
      // Only ', ' between two non-empty members is canonical.
      if (memberLen === 0 || pendingWs > 0) return false
      if (i + 1 >= n || value.charCodeAt(i + 1) !== SP) return false
      i++
      memberLen = 0
      last = 0
      afterComma = true
      inValue = false
      continue
    }
    if (caseInsensitiveList && (c === SEMICOLON || c === EQUALS)) {
      if (pendingWs > 0) return false
      memberLen++
      last = c
      inValue = c === EQUALS
      continue
    }
    if (caseInsensitiveList && !(keepValueCase && inValue) && c >= 0x41 && c <= 0x5a) return false
    memberLen += pendingWs + 1
    pendingWs = 0
    if (c === DQUOTE) quoted = true
    last = c
  }
  if (pendingWs > 0) return false
  if (afterComma && memberLen === 0) return false
  return true
}
