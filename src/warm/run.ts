/**
 * A warm run: `concurrency` workers take lines in order from the sources, wait for the rate
 * limiter's slot, send each to the target on a pool of at most `concurrency` connections and read
 * the whole body (corral stores what it has sent whole), counting the outcome.
 */
import { setMaxListeners } from 'node:events'
import { Pool, type Dispatcher } from 'undici'
import { RateLimiter } from './rate.js'
import { describeError } from './sitemap.js'
import { isBad, parseLine } from './sources.js'
import type { Progress } from './progress.js'
import type { Tally } from './tally.js'

export interface RunSettings {
  readonly target: string
  readonly concurrency: number
  readonly rate: number | undefined
  readonly method: 'GET' | 'HEAD'
  /** Host for path lines; undefined: the target's */
  readonly host: string | undefined
  readonly headers: Record<string, string>
  readonly timeoutMs: number
}

/** A pool to the target: `connections` sockets at most, one request on each at a time. */
export function targetPool(target: string, connections: number): Pool {
  return new Pool(target, { connections, pipelining: 1 })
}

/**
 * Warm every line of `lines` (URLs or paths, in order). Resolves when all are done, or — once
 * `stop` aborts — when the requests in flight have been cancelled.
 */
export async function warm(
  lines: AsyncIterable<string>,
  settings: RunSettings,
  pool: Dispatcher,
  tally: Tally,
  progress: Progress,
  stop: AbortSignal,
): Promise<void> {
  const limiter = settings.rate === undefined ? undefined : new RateLimiter(settings.rate)
  // each worker listens to `stop` while it waits for a slot and while its request runs
  setMaxListeners(2 * settings.concurrency + 10, stop)
  // An async generator queues concurrent next() calls: each worker gets the next line in turn.
  const queue = lines[Symbol.asyncIterator]()
  const worker = async (): Promise<void> => {
    for (;;) {
      if (stop.aborted) return
      const next = await queue.next()
      if (next.done === true || stop.aborted) return
      const line = parseLine(next.value)
      if (isBad(line)) {
        tally.error(line.url, line.problem)
        progress.tick()
        continue
      }
      if (limiter !== undefined) await limiter.take(stop)
      if (stop.aborted) return
      await fetchOne(line.url, line.path, line.host ?? settings.host, settings, pool, tally, stop)
      progress.tick()
    }
  }
  await Promise.all(Array.from({ length: settings.concurrency }, worker))
}

async function fetchOne(
  url: string,
  path: string,
  host: string | undefined,
  settings: RunSettings,
  pool: Dispatcher,
  tally: Tally,
  stop: AbortSignal,
): Promise<void> {
  const headers = host === undefined ? settings.headers : { ...settings.headers, host }
  // One controller per request, aborted by its timeout or by the user's stop (AbortSignal.any
  // would tie a listener per request to the long-lived stop signal on node 20).
  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, settings.timeoutMs)
  const cancel = (): void => controller.abort()
  stop.addEventListener('abort', cancel, { once: true })
  try {
    const res = await pool.request({
      path,
      method: settings.method,
      headers,
      signal: controller.signal,
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
    })
    let bytes = 0
    for await (const chunk of res.body) bytes += (chunk as Buffer).length
    const xcs = res.headers['x-cache-status']
    tally.response(res.statusCode, Array.isArray(xcs) ? xcs[0] : xcs, bytes, url)
  } catch (err) {
    if (stop.aborted && !timedOut) return // cancelled by the user: not a failure of the URL
    tally.error(url, describeError(timedOut ? { name: 'TimeoutError' } : err, settings.timeoutMs))
  } finally {
    clearTimeout(timer)
    stop.removeEventListener('abort', cancel)
  }
}
