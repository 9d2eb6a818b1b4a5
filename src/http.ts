/** Small helpers over node's header shapes, shared by the stages. */
import type { HeaderMap } from './policy/types.js'

/** One header value: repeated fields joined with ', ' (RFC 9110 §5.3). */
export function headerValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : value.join(', ')
}

export function hasHeader(headers: HeaderMap, name: string): boolean {
  return headers[name] !== undefined
}
