/**
 * `corral warm`: read URLs (files, sitemaps, stdin) and fetch them through a running corral with
 * bounded concurrency and an optional rate limit, so that its cache holds them — after a deploy,
 * a restart of the Redis of a fleet, or before a traffic peak. Progress on stderr, a summary on
 * stdout (text or --json), and an exit status a script can act on.
 */
import { readFileSync } from 'node:fs'
import type { Readable } from 'node:stream'
import { parseWarmArgs, UsageError, WARM_HELP, type WarmOptions } from '../warm/options.js'
import { createProgress, type ProgressStream } from '../warm/progress.js'
import { targetPool, warm } from '../warm/run.js'
import { readSitemap } from '../warm/sitemap.js'
import { readUrlFile, streamLines } from '../warm/sources.js'
import { formatSummary, Tally } from '../warm/tally.js'

export interface WarmIO {
  readonly stdin: Readable & { readonly isTTY?: boolean }
  readonly stdout: { write(text: string): unknown }
  readonly stderr: ProgressStream
  readonly env: NodeJS.ProcessEnv
}

const USAGE = 2
const INTERRUPTED = 130

/** Run `corral warm …args` and resolve with the exit status. */
export async function runWarm(args: readonly string[], io: WarmIO = processIO()): Promise<number> {
  const complain = (message: string): void => void io.stderr.write(`corral: warm: ${message}\n`)
  let options: WarmOptions
  try {
    options = parseWarmArgs(args, io.env, io.stdin.isTTY === true)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    complain(err.message)
    return USAGE
  }
  if (options.help) {
    io.stdout.write(WARM_HELP)
    return 0
  }

  const lists: string[][] = []
  try {
    for (const file of options.files) lists.push(readUrlFile(file))
  } catch (err) {
    complain((err as Error).message)
    return USAGE
  }

  const headers = requestHeaders(options)
  const pool = targetPool(options.target, options.concurrency)
  const stop = new AbortController()
  let interrupts = 0
  const onSignal = (): void => {
    if (++interrupts > 1) process.exit(INTERRUPTED)
    complain('stopping: cancelling the requests in flight (again to quit at once)')
    stop.abort()
    if (options.stdin) io.stdin.destroy() // a worker may be waiting for the next line
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    try {
      for (const sitemap of options.sitemaps) {
        lists.push(await readSitemap(sitemap, { target: options.target, pool, host: options.host, headers, timeoutMs: options.timeoutMs }))
      }
    } catch (err) {
      complain((err as Error).message)
      return USAGE
    }
    if (stop.signal.aborted) return INTERRUPTED

    const tally = new Tally()
    tally.read = lists.reduce((n, list) => n + list.length, 0)
    tally.totalKnown = !options.stdin
    const progress = createProgress(io.stderr, tally, options.quiet)
    async function* lines(): AsyncGenerator<string> {
      for (const list of lists) yield* list
      if (!options.stdin) return
      for await (const line of streamLines(io.stdin)) {
        tally.read++
        yield line
      }
      tally.totalKnown = true
    }
    await warm(
      lines(),
      { target: options.target, concurrency: options.concurrency, rate: options.rate, method: options.method, host: options.host, headers, timeoutMs: options.timeoutMs },
      pool,
      tally,
      progress,
      stop.signal,
    )
    tally.endedAt = performance.now()
    progress.finish()
    const interrupted = stop.signal.aborted
    const summary = tally.summary(options.target, options.method, interrupted)
    io.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : formatSummary(summary))
    if (summary.total === 0 && !interrupted) complain('nothing to warm: the sources held no URLs')
    return interrupted ? INTERRUPTED : summary.ok ? 0 : 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (options.stdin) io.stdin.destroy()
    await pool.destroy()
  }
}

function processIO(): WarmIO {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }
}

/** The --header fields, and a User-Agent that says who asks unless one was given. */
function requestHeaders(options: WarmOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of options.headers) {
    const existing = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase())
    if (existing !== undefined) headers[existing] = `${headers[existing]}, ${value}`
    else headers[name] = value
  }
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'user-agent')) headers['user-agent'] = `corral-warm/${version()}`
  return headers
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }
    return pkg.version ?? '0'
  } catch {
    return '0'
  }
}
