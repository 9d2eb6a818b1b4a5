/** Character codes the field-value scanners compare against (RFC 9110 §5.6), and OWS. */
export const HTAB = 0x09
export const SP = 0x20
export const DQUOTE = 0x22
export const COMMA = 0x2c
export const SLASH = 0x2f
export const SEMICOLON = 0x3b
export const EQUALS = 0x3d
export const BACKSLASH = 0x5c

/** RFC 9110 §5.6.3: OWS is spaces and horizontal tabs. */
export function isWs(c: number): boolean {
  return c === SP || c === HTAB
}
