/**
 * The root logger and every named log event. Events own their message and level, so call
 * sites read as `log.originFailed(err, ctx)` and the wording lives in one place.
 */
import { pino, type Logger, type DestinationStream } from 'pino'
import type { LogConfig } from './config/types.js'
import type { CacheStatus, Reason } from './status.js'

export type { Logger }

const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
]

export function createLogger(config: LogConfig, destination?: DestinationStream): Logger {
  const pretty =
    destination === undefined &&
    (config.format === 'pretty' || (config.format === 'auto' && process.stdout.isTTY === true))
  const options = { level: config.level, base: { service: 'corral' }, redact: REDACT }
  if (destination !== undefined) return pino(options, destination)
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service' } },
    })
  }
  return pino(options)
}

/** The per-request summary: one line for every request, written when the response is finished. */
export interface AccessRecord {
  reqId: string
  method: string
  host: string
  path: string
  status: number
  cacheStatus: CacheStatus | undefined
  reason: Reason | undefined
  route: string | undefined
  keyId: string | undefined
  lookupMs: number | undefined
  lockWaitMs: number | undefined
  originMs: number | undefined
  totalMs: number
  aborted: boolean
}

export class GatewayLog {
  readonly root: Logger
  readonly accessEnabled: boolean

  constructor(root: Logger, accessEnabled: boolean) {
    this.root = root
    this.accessEnabled = accessEnabled && root.isLevelEnabled('info')
  }

  access(record: AccessRecord): void {
    this.root.info(record, 'request')
  }

  listening(address: string): void {
    this.root.info({ address }, `corral listening on ${address}`)
  }

  started(info: { source: string; routes: number; store: string }): void {
    this.root.info(info, 'corral started')
  }

  originFailed(err: unknown, fields: { reqId: string; upstream: string; code: string }): void {
    this.root.warn({ err, ...fields }, `origin request failed (${fields.code})`)
  }

  refreshFailed(err: unknown, fields: { keyId: string }): void {
    this.root.warn({ err, ...fields }, 'background refresh failed')
  }

  storeFailed(err: unknown, fields: { keyId: string }): void {
    this.root.warn({ err, ...fields }, 'cache store failed; response served without storing')
  }

  passFailed(err: unknown, fields: { reqId: string; upstream: string }): void {
    this.root.warn({ err, ...fields }, 'pass-through request failed')
  }

  clientError(err: unknown, status: number): void {
    if (this.root.isLevelEnabled('debug')) this.root.debug({ err, status }, 'malformed request rejected')
  }

  coalesceTimeout(fields: { keyId: string; waitedMs: number }): void {
    this.root.warn(fields, 'waited too long for another request to fetch this key; fetching itself')
  }

  draining(inFlight: number, timeoutMs: number): void {
    this.root.info({ inFlight, timeoutMs }, 'shutting down: draining in-flight requests')
  }

  drainTimedOut(left: number): void {
    this.root.warn({ left }, 'drain timeout reached; closing remaining connections')
  }

  stopped(): void {
    this.root.info('corral stopped')
  }

  internalError(err: unknown, fields: { reqId: string }): void {
    this.root.error({ err, ...fields }, 'internal error while handling a request')
  }
}
