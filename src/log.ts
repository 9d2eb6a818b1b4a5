/**
 * The root logger and every named log event. Events own their message and level, so call
 * sites read as `log.originFailed(err, ctx)` and the wording lives in one place.
 */
import cluster from 'node:cluster'
import { pino, type Logger, type DestinationStream } from 'pino'
import type { LogConfig, LogLevel } from './config/types.js'
import { BatchedWriter } from './log-writer.js'
import type { LockRole } from './coalesce/types.js'
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
  // Worker processes share stdout: writes of at most PIPE_BUF bytes keep their lines whole.
  stdout ??= new BatchedWriter(1, cluster.isWorker ? PIPE_BUF : undefined)
  const logger = pino(options, stdout)
  writesJsonToStdout.add(logger)
  return logger
}

const writesJsonToStdout = new WeakSet<Logger>()

/** POSIX: a write of at most this many bytes to a pipe is never interleaved with another's. */
const PIPE_BUF = 4096

let stdout: BatchedWriter | undefined

/** The JSON stdout writer, when the logger built by createLogger writes JSON to stdout. */
export function jsonStdout(logger: Logger): BatchedWriter | undefined {
  return writesJsonToStdout.has(logger) ? stdout : undefined
}

/** Write out buffered log lines; call before the process exits. */
export function flushLogs(): void {
  try {
    stdout?.flushSync()
  } catch {
    // Nothing to flush, or stdout is gone: exiting anyway.
  }
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
  lockRole: LockRole | undefined
  originMs: number | undefined
  totalMs: number
  aborted: boolean
}

/**
 * The access record as one JSON line in pino's format, written by hand: the strings that can
 * carry arbitrary bytes (request id, path, route name) go through JSON.stringify; the others are
 * tokens (method, host — checked by receive —, enums, base64url ids) and numbers.
 */
export function accessLine(r: AccessRecord): string {
  let line = `{"level":30,"time":${Date.now()},"service":"corral","reqId":${JSON.stringify(r.reqId)},"method":"${r.method}","host":"${r.host}","path":${JSON.stringify(r.path)},"status":${r.status}`
  if (r.cacheStatus !== undefined) line += `,"cacheStatus":"${r.cacheStatus}"`
  if (r.reason !== undefined) line += `,"reason":"${r.reason}"`
  if (r.route !== undefined) line += `,"route":${JSON.stringify(r.route)}`
  if (r.keyId !== undefined) line += `,"keyId":"${r.keyId}"`
  if (r.lookupMs !== undefined) line += `,"lookupMs":${r.lookupMs}`
  if (r.lockWaitMs !== undefined) line += `,"lockWaitMs":${r.lockWaitMs}`
  if (r.lockRole !== undefined) line += `,"lockRole":"${r.lockRole}"`
  if (r.originMs !== undefined) line += `,"originMs":${r.originMs}`
  return `${line},"totalMs":${r.totalMs},"aborted":${r.aborted},"msg":"request"}\n`
}

export class GatewayLog {
  readonly root: Logger
  accessEnabled: boolean
  /** log.accessSample: the share of requests that get an access line. */
  accessSample = 1
  /** The access line has no secret fields: a child without redaction skips its cost on every request. */
  private readonly accessLog: Logger
  /**
   * When logs are JSON on stdout, access lines are written straight to it in pino's format:
   * JSON.stringify of a flat record costs a fraction of pino's generic serializer, per request.
   */
  private readonly lines: BatchedWriter | undefined

  constructor(root: Logger, accessEnabled: boolean, lines?: BatchedWriter) {
    this.root = root
    this.accessEnabled = accessEnabled && root.isLevelEnabled('info')
    this.accessLog = root.child({}, { redact: [] })
    this.lines = lines
  }

  /** A reloaded config's log settings (the format cannot change without a restart). */
  reconfigure(level: LogLevel, access: boolean, accessSample: number): void {
    this.root.level = level
    this.accessEnabled = access && this.root.isLevelEnabled('info')
    this.accessSample = accessSample
  }

  /** Sampled out, unless it failed or the client left: those are what a log is read for. */
  wantsAccessLine(status: number, completed: boolean): boolean {
    return this.accessSample >= 1 || status >= 500 || !completed || Math.random() < this.accessSample
  }

  access(record: AccessRecord): void {
    if (this.lines === undefined) {
      this.accessLog.info(record, 'request')
      return
    }
    this.lines.write(accessLine(record))
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

  coalesceTimeout(fields: { keyId: string; waitedMs: number; onTimeout: string }): void {
    this.root.warn(fields, `waited too long for another request to fetch this key (onTimeout: ${fields.onTimeout})`)
  }

  redisConnected(fields: { prefix: string; pubsub: string }): void {
    this.root.info(fields, 'redis connected: fleet mode on')
  }

  /** Connection errors repeat on every reconnect attempt: the state changes below are what gets logged. */
  redisError(err: unknown): void {
    if (this.root.isLevelEnabled('debug')) this.root.debug({ err }, 'redis error')
  }

  redisDegraded(err: unknown): void {
    this.root.warn({ err }, 'redis unavailable: serving from memory, coalescing in this process only, until it is back')
  }

  redisRecovered(): void {
    this.root.info('redis available again: shared cache and fleet-wide coalescing resume')
  }

  workersStarted(count: number): void {
    this.root.info({ workers: count, pid: process.pid }, `corral primary: starting ${count} workers`)
  }

  workerReady(fields: { worker: number; pid: number }): void {
    this.root.info(fields, 'worker listening')
  }

  workerDied(fields: { worker: number; pid: number; code: number | null; signal: string | null; restartInMs: number }): void {
    this.root.warn(fields, `worker exited unexpectedly; restarting it in ${fields.restartInMs} ms`)
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
