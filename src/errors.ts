/** Every error the gateway names: a stable code (asserted by tests, logged) and the HTTP status it maps to. */
export const ERROR_STATUS = {
  CORRAL_ERR_CONFIG_INVALID: 500,
  /** A listener could not be opened (port taken, no permission…): a start-up error, never an HTTP answer. */
  CORRAL_ERR_LISTEN: 500,
  CORRAL_ERR_ORIGIN_UNREACHABLE: 502,
  CORRAL_ERR_ORIGIN_TIMEOUT: 504,
  CORRAL_ERR_ONLY_IF_CACHED: 504,
  CORRAL_ERR_LOCK_TIMEOUT: 503,
  CORRAL_ERR_NO_ROUTE: 404,
  CORRAL_ERR_BAD_REQUEST: 400,
  CORRAL_ERR_BODY_TOO_LARGE: 413,
  CORRAL_ERR_HEADERS_TOO_LARGE: 431,
  CORRAL_ERR_INTERNAL: 500,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export class GatewayError extends Error {
  readonly code: ErrorCode
  readonly status: number

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'GatewayError'
    this.code = code
    this.status = ERROR_STATUS[code]
  }
}
