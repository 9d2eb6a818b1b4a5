/** Small helpers over node's header shapes, shared by the stages. */

/** One header value: repeated fields joined with ', ' (RFC 9110 §5.3). */
export function headerValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : value.join(', ')
}
