/**
 * Targeted cache-control fields (RFC 9213): CDN-Cache-Control and friends are Structured Field
 * Dictionaries (RFC 8941), not Cache-Control lists. §2.1: a field that fails to parse as a
 * Dictionary is ignored as a whole (the cache falls back to Cache-Control), and a directive
 * whose value has the wrong type is ignored. This module checks the syntax and returns the
 * directives that survive in Cache-Control form, for the one directive parser.
 */
import type { HeaderMap } from './types.js'

/** Directives whose value is an Integer of seconds (RFC 9213 §2.1). */
const INTEGER_DIRECTIVES: ReadonlySet<string> = new Set(['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error'])

const KEY = /^[a-z*][a-z0-9_\-.*]*/
const INTEGER = /^-?\d{1,15}(?![\d.])/
const DECIMAL = /^-?\d{1,12}\.\d{1,3}(?!\d)/
const STRING = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"/
const TOKEN = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/
const BYTES = /^:[A-Za-z0-9+/=]*:/
const BOOLEAN = /^\?[01]/

type Bare = { kind: 'integer' | 'decimal' | 'string' | 'token' | 'bytes' | 'boolean' | 'inner-list'; text: string }

/**
 * RFC 9213 §2.1: the first of `fields`, in list order, with a valid, non-empty value, as
 * Cache-Control text; undefined when there is none (then Cache-Control and Expires apply). An
 * empty or invalid field is passed over for the next one on the list.
 */
export function targetedDirectives(headers: HeaderMap, fields: readonly string[]): string | undefined {
  for (const name of fields) {
    const value = headers[name]
    if (value === undefined) continue
    const field = Array.isArray(value) ? value.join(', ') : value
    if (field.trim() === '') continue
    const directives = toCacheControl(field)
    if (directives !== undefined) return directives
  }
  return undefined
}

export function toCacheControl(field: string): string | undefined {
  const parsed = parseDictionary(field)
  if (parsed === undefined) return undefined
  // RFC 8941 §4.2.2: a key given twice keeps its last value.
  const members = new Map(parsed)
  const out: string[] = []
  for (const [key, value] of members) {
    if (INTEGER_DIRECTIVES.has(key)) {
      if (value?.kind === 'integer') out.push(`${key}=${value.text}`)
      continue // wrong type (or no value): this directive is ignored
    }
    if (value === undefined || (value.kind === 'boolean' && value.text === '?1')) out.push(key)
    else if (value.kind === 'string' || value.kind === 'token' || value.kind === 'integer') out.push(`${key}=${value.text}`)
  }
  return out.join(', ')
}

/** RFC 8941 §4.2.2, enough to tell a valid Dictionary from an invalid one; parameters are checked and dropped. */
function parseDictionary(input: string): Array<[string, Bare | undefined]> | undefined {
  const members: Array<[string, Bare | undefined]> = []
  let rest = input.trim()
  if (rest === '') return members
  for (;;) {
    const key = KEY.exec(rest)?.[0]
    if (key === undefined) return undefined
    rest = rest.slice(key.length)
    let value: Bare | undefined
    if (rest.startsWith('=')) {
      const parsed = parseItemOrInnerList(rest.slice(1))
      if (parsed === undefined) return undefined
      ;[value, rest] = parsed
    } else {
      const params = skipParameters(rest)
      if (params === undefined) return undefined
      rest = params
    }
    members.push([key, value])
    rest = rest.replace(/^[ \t]*/, '')
    if (rest === '') return members
    if (!rest.startsWith(',')) return undefined
    rest = rest.slice(1).replace(/^[ \t]*/, '')
    if (rest === '') return undefined // trailing comma
  }
}

function parseItemOrInnerList(input: string): [Bare, string] | undefined {
  if (input.startsWith('(')) {
    let rest = input.slice(1)
    for (;;) {
      rest = rest.replace(/^ */, '')
      if (rest.startsWith(')')) {
        const after = skipParameters(rest.slice(1))
        return after === undefined ? undefined : [{ kind: 'inner-list', text: '' }, after]
      }
      const item = parseBare(rest)
      if (item === undefined) return undefined
      const after = skipParameters(rest.slice(item.text.length))
      if (after === undefined || !(after.startsWith(' ') || after.startsWith(')'))) return undefined
      rest = after
    }
  }
  const item = parseBare(input)
  if (item === undefined) return undefined
  const after = skipParameters(input.slice(item.text.length))
  return after === undefined ? undefined : [item, after]
}

function parseBare(input: string): Bare | undefined {
  const decimal = DECIMAL.exec(input)?.[0]
  if (decimal !== undefined) return { kind: 'decimal', text: decimal }
  const integer = INTEGER.exec(input)?.[0]
  if (integer !== undefined) return { kind: 'integer', text: integer }
  for (const [kind, pattern] of [
    ['string', STRING],
    ['token', TOKEN],
    ['bytes', BYTES],
    ['boolean', BOOLEAN],
  ] as const) {
    const text = pattern.exec(input)?.[0]
    if (text !== undefined) return { kind, text }
  }
  return undefined
}

function skipParameters(input: string): string | undefined {
  let rest = input
  while (rest.startsWith(';')) {
    rest = rest.slice(1).replace(/^ */, '')
    const key = KEY.exec(rest)?.[0]
    if (key === undefined) return undefined
    rest = rest.slice(key.length)
    if (rest.startsWith('=')) {
      const value = parseBare(rest.slice(1))
      if (value === undefined) return undefined
      rest = rest.slice(1 + value.text.length)
    }
  }
  return rest
}
