/**
 * `corral purge`: the admin API's POST /purge from a shell. Several selectors in one call are
 * sent as one list (one request, one answer).
 *
 *   corral purge --url http://api.example.com/items/1 --tag product-42 --soft
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { closest } from '../config/suggest.js'

const OPTIONS = {
  url: { type: 'string', multiple: true },
  prefix: { type: 'string', multiple: true },
  tag: { type: 'string', multiple: true },
  all: { type: 'boolean' },
  soft: { type: 'boolean' },
  admin: { type: 'string' },
  'token-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

const HELP = `corral purge — remove entries from a running corral (every instance and worker sharing its store)

Usage:
  corral purge --url <url> | --prefix <url> | --tag <tag> | --all   [--soft] [--admin <url>]

  --url <url>         one URL, every method and variant of it (http://host/path?q, or /path for every host)
  --prefix <url>      every URL starting with it
  --tag <tag>         every entry whose response carried this tag (Surrogate-Key, Cache-Tag)
  --all               everything
  --soft              mark stale instead of removing: served under its stale windows while one
                      request revalidates it
  --admin <url>       the admin listener                      [CORRAL_ADMIN_URL or http://127.0.0.1:9090]
  --token-file <file> the admin token; else CORRAL_ADMIN_TOKEN
  --json              print the API's answer as it is
Each option may be given several times; all of them go in one call.
`

/** How long the admin API may take (a prefix purge scans Redis). */
const TIMEOUT_MS = 60_000

export async function runPurge(args: readonly string[]): Promise<number> {
  let values
  try {
    values = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: false }).values
  } catch (err) {
    return usage(problem(err))
  }
  if (values.help === true) {
    process.stdout.write(HELP)
    return 0
  }
  const soft = values.soft === true
  const body = [
    ...(values.url ?? []).map((url) => ({ url, soft })),
    ...(values.prefix ?? []).map((prefix) => ({ prefix, soft })),
    ...(values.tag ?? []).map((tag) => ({ tag, soft })),
    ...(values.all === true ? [{ all: true, soft }] : []),
  ]
  if (body.length === 0) return usage('say what to purge: --url, --prefix, --tag or --all (see corral purge --help)')
  const admin = (values.admin ?? process.env.CORRAL_ADMIN_URL ?? 'http://127.0.0.1:9090').replace(/\/+$/, '')
  let token = process.env.CORRAL_ADMIN_TOKEN
  if (values['token-file'] !== undefined) {
    try {
      token = readFileSync(values['token-file'], 'utf8').split('\n')[0]?.trim()
    } catch (err) {
      return usage(`--token-file: cannot read ${values['token-file']}: ${(err as Error).message}`)
    }
  }
  let status: number
  let text: string
  try {
    const res = await request(`${admin}/purge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body.length === 1 ? body[0] : body),
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    })
    status = res.statusCode
    text = await res.body.text()
  } catch (err) {
    process.stderr.write(`corral: purge: cannot reach the admin API at ${admin}: ${(err as Error).message}\n`)
    return 1
  }
  if (values.json === true) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
  let answer: unknown
  try {
    answer = JSON.parse(text)
  } catch {
    process.stderr.write(`corral: purge: ${admin} answered ${status} with something that is not the admin API's JSON\n`)
    return 1
  }
  if (status !== 200) {
    const error = (answer as { error?: { code?: string; message?: string } }).error
    process.stderr.write(`corral: purge: ${error?.message ?? `HTTP ${status}`}${error?.code === undefined ? '' : ` (${error.code})`}\n`)
    return 1
  }
  if (values.json !== true) {
    const { purged, results } = answer as { purged: number; results: Array<Record<string, unknown> & { kind: string; entries: number }> }
    for (const r of results) {
      const what = r.kind === 'all' ? 'everything' : `${r.kind} ${String(r[r.kind])}`
      process.stdout.write(`${what}: ${r.entries} ${r.entries === 1 ? 'entry' : 'entries'}${soft ? ' marked stale' : ' purged'}\n`)
    }
    if (results.length > 1) process.stdout.write(`total: ${purged}\n`)
  }
  return 0
}

function usage(message: string): number {
  process.stderr.write(`corral: purge: ${message}\n`)
  return 2
}

function problem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  const unknown = /^Unknown option '--([^']+)'/.exec(message)?.[1]
  if (unknown === undefined) return message
  const near = closest(unknown, Object.keys(OPTIONS))
  return `unknown option '--${unknown}'${near === undefined ? ' (see corral purge --help)' : ` (did you mean --${near}?)`}`
}
