/**
 * `corral warm`'s command line: what to read, where to send it and how fast. Every problem is a
 * UsageError with one line that names the flag and what it expected.
 */
import { parseArgs } from 'node:util'
import { parseDuration } from '../config/duration.js'
import { closest } from '../config/suggest.js'
import { isValidHost } from '../stages/receive.js'

export const DEFAULT_TARGET = 'http://127.0.0.1:8080'
export const DEFAULT_CONCURRENCY = 8
export const DEFAULT_TIMEOUT_MS = 30_000
const MAX_CONCURRENCY = 1_000

export const WARM_HELP = `corral warm — fetch URLs through a running corral so that its cache holds them

Usage:
  corral warm --file <path> [options]      one URL or path a line; blank lines and # comments skipped
  corral warm --sitemap <url> [options]    the <loc> entries of a sitemap.xml (or a sitemap index)
  <command> | corral warm [options]        URLs on stdin (or name it: -)

Each line is an absolute URL (http://api.example.com/items/1: sent to the target with that Host)
or a path (/items/1: sent with the target's host, or --host). Sources may be combined.

Options:
  -t, --target <url>        where corral listens            [http://127.0.0.1:8080, env CORRAL_WARM_TARGET]
  -c, --concurrency <n>     requests in flight at most       [8]
  -r, --rate <n>            requests started per second at most (fractions allowed) [unlimited]
  -H, --header 'Name: v'    send this field with every request (repeatable), e.g.
                            'Accept-Encoding: gzip' to warm the variant clients ask for
      --host <name>         Host for lines that are paths    [the target's]
  -X, --method GET|HEAD     HEAD warms the same entry without the body crossing the wire [GET]
      --timeout <duration>  per request, body included ("30s", "500ms") [30s]
      --json                print the summary as JSON on stdout
  -q, --quiet               no progress on stderr
  -h, --help                this text

Exit status: 0 when every URL got a response below 500, 1 when one did not (5xx, network error,
timeout, a line that is not a URL), 2 for a usage error or a source that cannot be read,
130 when interrupted.
`

export interface WarmOptions {
  /** origin of the corral to warm, without a trailing slash */
  readonly target: string
  readonly files: readonly string[]
  readonly sitemaps: readonly string[]
  readonly stdin: boolean
  readonly concurrency: number
  /** requests per second, or undefined for no limit */
  readonly rate: number | undefined
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** Host for path lines; undefined means the target's */
  readonly host: string | undefined
  readonly method: 'GET' | 'HEAD'
  readonly timeoutMs: number
  readonly json: boolean
  readonly quiet: boolean
  readonly help: boolean
}

export class UsageError extends Error {}

const OPTIONS = {
  file: { type: 'string', short: 'f', multiple: true },
  sitemap: { type: 'string', short: 's', multiple: true },
  target: { type: 'string', short: 't' },
  concurrency: { type: 'string', short: 'c' },
  rate: { type: 'string', short: 'r' },
  header: { type: 'string', short: 'H', multiple: true },
  host: { type: 'string' },
  method: { type: 'string', short: 'X' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// eslint-disable-next-line no-control-regex
const FIELD_VALUE = /^[^\x00-\x08\x0a-\x1f\x7f]*$/

/**
 * Parse `corral warm`'s arguments. `stdinIsTTY` decides whether no source means stdin (piped)
 * or a usage error (a terminal: the user forgot the source).
 */
export function parseWarmArgs(args: readonly string[], env: NodeJS.ProcessEnv, stdinIsTTY: boolean): WarmOptions {
  let parsed
  try {
    parsed = parseArgs({ args: [...args], allowPositionals: true, strict: true, options: OPTIONS })
  } catch (err) {
    throw new UsageError(argsProblem(err))
  }
  const { values, positionals } = parsed
  let stdin = false
  for (const arg of positionals) {
    if (arg === '-') stdin = true
    else if (/^https?:\/\//i.test(arg)) throw new UsageError(`unexpected argument "${arg}" (a sitemap: --sitemap ${arg}; a list of URLs: --file or stdin)`)
    else throw new UsageError(`unexpected argument "${arg}" (to read URLs from it: --file ${arg})`)
  }
  const files = values.file ?? []
  const sitemaps = values.sitemap ?? []
  const help = values.help === true
  if (!help && !stdin && files.length === 0 && sitemaps.length === 0) {
    if (stdinIsTTY) throw new UsageError('no URLs to warm: give --file <path>, --sitemap <url>, or pipe them on stdin (see corral warm --help)')
    stdin = true
  }
  for (const file of files) if (file === '') throw new UsageError('--file: expected a path')
  for (const sitemap of sitemaps) checkSitemap(sitemap)

  return {
    target: parseTarget(values.target ?? (env.CORRAL_WARM_TARGET || undefined) ?? DEFAULT_TARGET, values.target !== undefined ? '--target' : 'CORRAL_WARM_TARGET'),
    files,
    sitemaps,
    stdin,
    concurrency: parseConcurrency(values.concurrency),
    rate: parseRate(values.rate),
    headers: (values.header ?? []).map(parseHeader),
    host: parseHost(values.host),
    method: parseMethod(values.method),
    timeoutMs: parseTimeout(values.timeout),
    json: values.json === true,
    quiet: values.quiet === true,
    help,
  }
}

/** parseArgs' complaint in one line, with the flag meant when a long one is misspelt. */
function argsProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1]
  if (unknown !== undefined) {
    const near = unknown.startsWith('--') ? closest(unknown.slice(2), Object.keys(OPTIONS)) : undefined
    return `unknown option '${unknown}' ${near === undefined ? '(see corral warm --help)' : `(did you mean --${near}?)`}`
  }
  // a missing value, or one that starts with "-" (`--concurrency -1`: parseArgs takes -1 for a flag)
  const missing = /^Option '(?:-\w, )?(-[\w-]+)(?: <value>)?' argument (?:missing|is ambiguous)/.exec(message)?.[1]
  if (missing !== undefined) return `${missing}: expected a value`
  return `${message.split('\n')[0] ?? message} (see corral warm --help)`
}

function parseTarget(value: string, from: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(`${from}: expected the URL corral listens on, like ${DEFAULT_TARGET}, got "${value}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${from}: expected an http:// or https:// URL, got "${value}"`)
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new UsageError(`${from}: expected only a scheme, host and port (like ${DEFAULT_TARGET}), got "${value}"`)
  }
  return url.origin
}

function parseConcurrency(value: string | undefined): number {
  if (value === undefined) return DEFAULT_CONCURRENCY
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 1 || n > MAX_CONCURRENCY) {
    throw new UsageError(`--concurrency: expected a whole number from 1 to ${MAX_CONCURRENCY}, got "${value}"`)
  }
  return n
}

function parseRate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--rate: expected requests per second above 0 (like 50 or 0.5), got "${value}"`)
  return n
}

function parseHeader(value: string): readonly [string, string] {
  const colon = value.indexOf(':')
  const name = colon === -1 ? '' : value.slice(0, colon).trim()
  if (colon === -1 || !TOKEN.test(name)) throw new UsageError(`--header: expected 'Name: value', got "${value}"`)
  const field = value.slice(colon + 1).trim()
  if (!FIELD_VALUE.test(field)) throw new UsageError(`--header: the value of ${name} has a control character`)
  const lower = name.toLowerCase()
  if (lower === 'host') throw new UsageError(`--header: give the Host with --host ${field} (absolute URLs carry their own)`)
  if (['content-length', 'transfer-encoding', 'connection', 'upgrade', 'expect', 'keep-alive'].includes(lower)) {
    throw new UsageError(`--header: ${name} is managed by the connection and cannot be set`)
  }
  return [name, field]
}

function parseHost(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!isValidHost(value)) throw new UsageError(`--host: expected a host name with an optional port (like api.example.com), got "${value}"`)
  return value
}

function parseMethod(value: string | undefined): 'GET' | 'HEAD' {
  if (value === undefined) return 'GET'
  const upper = value.toUpperCase()
  if (upper !== 'GET' && upper !== 'HEAD') throw new UsageError(`--method: expected GET or HEAD (only those are cached), got "${value}"`)
  return upper
}

function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS
  if (/^\d+$/.test(value.trim())) throw new UsageError(`--timeout: give the unit, like "30s" or "500ms", got "${value}"`)
  let ms: number
  try {
    ms = parseDuration(value)
  } catch (err) {
    throw new UsageError(`--timeout: ${(err as Error).message}`)
  }
  if (ms <= 0) throw new UsageError(`--timeout: expected a duration above 0, like "30s", got "${value}"`)
  return ms
}

function checkSitemap(value: string): void {
  if (value.startsWith('/')) return // a path: fetched through the target
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {
    url = undefined
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`--sitemap: expected an http(s) URL or a path on the target, like /sitemap.xml, got "${value}"`)
  }
}
