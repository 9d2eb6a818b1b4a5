/**
 * `corral warm` fetching through a real corral in front of a real origin, which counts what
 * reaches it: as people run it (a process: node src/cli.ts warm …) for the 1,000 URLs, stdin, the
 * exit statuses and the terminal, and in this process (runWarm with its output captured) where
 * only what it fetched matters, to keep the file quick.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runWarm } from '../../src/commands/warm.js'
import type { Gateway } from '../../src/gateway.js'
import type { WarmSummary } from '../../src/warm/tally.js'
import { client, startTestGateway, testConfig } from '../helpers/gateway.js'
import { Origin, type SeenRequest } from '../helpers/origin.js'

const CLI = ['--import', 'tsx', 'src/cli.ts', 'warm']
const dir = mkdtempSync(join(tmpdir(), 'corral-warm-'))

interface Run {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

function warm(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI, ...args], {
      env: { ...process.env, CORRAL_WARM_TARGET: '', ...options.env },
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }))
    if (options.stdin !== undefined) child.stdin?.end(options.stdin)
  })
}

/** runWarm in this process: the same code as the command, its stdout and stderr captured. */
async function warmHere(args: string[], stdin?: string): Promise<Run> {
  const started = performance.now()
  let stdout = ''
  let stderr = ''
  const code = await runWarm(args, {
    stdin: Readable.from(stdin === undefined ? [] : [stdin]),
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text), isTTY: false },
    env: {},
  })
  return { code, stdout, stderr, ms: performance.now() - started }
}

function summary(run: Run): WarmSummary {
  expect(run.stderr).not.toContain('Error')
  return JSON.parse(run.stdout) as WarmSummary
}

function file(name: string, lines: string[]): string {
  const path = join(dir, name)
  writeFileSync(path, `${lines.join('\n')}\n`)
  return path
}

let origin: Origin
let gateway: Gateway
let target: string
/** what reached the origin under a path prefix */
const under = (prefix: string): SeenRequest[] => origin.seen.filter((r) => r.url.startsWith(prefix))
/** when each URL reached the origin (performance.now()) */
const arrivals = new Map<string, number>()

beforeAll(async () => {
  origin = await Origin.start()
  origin.otherwise((req) => {
    arrivals.set(req.url, performance.now())
    if (req.url.startsWith('/fail/')) return { status: 503, body: 'down', headers: { 'cache-control': 'no-store' } }
    if (req.url.startsWith('/slow/')) return { delayMs: 3_000, body: 'late', headers: { 'cache-control': 'max-age=600' } }
    if (req.url.startsWith('/gone/')) return { status: 404, body: 'not here', headers: { 'cache-control': 'max-age=600' } }
    const vary = req.url.startsWith('/enc/') ? { vary: 'Accept-Encoding' } : {}
    return { body: `body of ${req.url}`, headers: { 'cache-control': 'max-age=600', ...vary } }
  })
  gateway = await startTestGateway(testConfig(origin.url))
  target = gateway.urls[0]!
})
afterAll(async () => {
  await gateway.close()
  await origin.close()
})

describe('corral warm', () => {
  it('warms a file of 1,000 URLs: each fetched from the origin once, then all are hits', async () => {
    const urls = Array.from({ length: 1000 }, (_, i) => `/items/${i}`)
    const list = file('thousand.txt', ['# items, one a line', '', ...urls.slice(0, 500), '   ', ...urls.slice(500)])

    const first = await warm(['--file', list, '--target', target])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toMatch(/^corral warm: 1000 URLs in [\d.]+ s \(\d+(\.\d)?\/s\) through http:\/\/127\.0\.0\.1:\d+$/m)
    expect(first.stdout).toMatch(/^ {2}cache: +MISS 1000$/m)
    expect(first.stdout).toMatch(/^ {2}status: +2xx 1000$/m)
    expect(first.stdout).toMatch(/^ {2}failed: +0$/m)
    const seen = under('/items/').map((r) => r.url)
    expect(seen).toHaveLength(1000)
    expect(new Set(seen)).toEqual(new Set(urls))
    // not a terminal: a few plain progress lines at most, never one per URL
    expect(first.stderr.split('\n').filter((l) => l !== '').length).toBeLessThanOrEqual(12)
    const took = /in ([\d.]+ s)/.exec(first.stdout)?.[1]
    console.log(`corral warm: 1,000 URLs through corral, all MISS: ${took}; ${Math.round(first.ms)} ms with the process start-up`)

    const second = await warm(['--file', list, '--target', target, '--json'])
    expect(second.code, second.stderr).toBe(0)
    const s = summary(second)
    expect(s).toMatchObject({ total: 1000, responses: 1000, failed: 0, cacheStatus: { HIT: 1000 }, statusClass: { '2xx': 1000 }, ok: true })
    expect(s.bytes).toBe(urls.reduce((n, u) => n + `body of ${u}`.length, 0))
    expect(under('/items/')).toHaveLength(1000) // nothing new reached the origin
  }, 40_000)

  it('keeps at most --concurrency requests in flight', async () => {
    const open = origin.closeGate()
    const list = file('bound.txt', Array.from({ length: 30 }, (_, i) => `/bound/${i}`))
    const running = warmHere(['--file', list, '--target', target, '--concurrency', '5', '--json'])
    try {
      await until(() => origin.held >= 5)
      await new Promise((r) => setTimeout(r, 300))
      expect(origin.held).toBe(5) // 25 more are waiting to be sent: none went
      expect(under('/bound/')).toHaveLength(5)
    } finally {
      open()
    }
    const run = await running
    expect(run.code, run.stderr).toBe(0)
    expect(summary(run).cacheStatus).toEqual({ MISS: 30 })
  })

  it('holds --rate over the run, without bursts', async () => {
    const list = file('rate.txt', Array.from({ length: 50 }, (_, i) => `/rate/${i}`))
    const run = await warmHere(['--file', list, '--target', target, '--rate', '100', '--json'])
    expect(run.code, run.stderr).toBe(0)
    const s = summary(run)
    expect(s.cacheStatus).toEqual({ MISS: 50 })
    expect(s.durationMs).toBeGreaterThanOrEqual(490) // 50 starts, 10 ms apart
    expect(s.durationMs).toBeLessThan(3_000)
    // as the origin saw them: spread over the run, not sent in a burst (the first half alone takes ~240 ms)
    const times = under('/rate/').map((r) => arrivals.get(r.url) ?? 0)
    expect(times).toHaveLength(50)
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(400)
    expect(times[25]! - times[0]!).toBeGreaterThanOrEqual(150)
  })

  it('reads URLs from stdin: piped with no source, or named -', async () => {
    const piped = await warm(['--target', target, '--json'], { stdin: '/stdin/1\n# a comment\n\n/stdin/2\r\n/stdin/3' })
    expect(piped.code, piped.stderr).toBe(0)
    expect(summary(piped)).toMatchObject({ total: 3, cacheStatus: { MISS: 3 } })
    expect(under('/stdin/').map((r) => r.url).sort()).toEqual(['/stdin/1', '/stdin/2', '/stdin/3'])

    const dash = await warmHere(['-', '--target', target, '--json', '--file', file('stdin-too.txt', ['/stdin/4'])], '/stdin/1\n/stdin/5\n')
    expect(dash.code, dash.stderr).toBe(0)
    expect(summary(dash)).toMatchObject({ total: 3, cacheStatus: { HIT: 1, MISS: 2 } })
  })

  it('reads a sitemap index one level deep (a gzipped sitemap included), and a sitemap on the target', async () => {
    const loc = (u: string): string => `<url><loc>${u}</loc><lastmod>2025-01-01</lastmod></url>`
    origin.on('/maps/index.xml', {
      headers: { 'content-type': 'application/xml' },
      body: `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <!-- <sitemap><loc>${origin.url}/maps/commented-out.xml</loc></sitemap> -->
  <sitemap><loc>${origin.url}/maps/a.xml</loc></sitemap>
  <sitemap><loc>${origin.url}/maps/b.xml.gz</loc></sitemap>
</sitemapindex>`,
    })
    origin.on('/maps/a.xml', {
      body: `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
${loc('http://shop.example/sm/1?color=red&amp;size=2')}
<url><loc><![CDATA[http://shop.example/sm/2]]></loc><image:image><image:loc>http://shop.example/sm/photo.jpg</image:loc></image:image></url>
</urlset>`,
    })
    origin.on('/maps/b.xml.gz', {
      headers: { 'content-type': 'application/gzip' },
      body: gzipSync(`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${loc('http://shop.example/sm/3')}${loc('/sm/4')}</urlset>`),
    })
    const run = await warmHere(['--sitemap', `${origin.url}/maps/index.xml`, '--target', target, '--host', 'www.example', '--json'])
    expect(run.code, run.stderr).toBe(0)
    expect(summary(run)).toMatchObject({ total: 4, cacheStatus: { MISS: 4 }, failed: 0 })
    const pages = under('/sm/').map((r) => `${String(r.headers['x-forwarded-host'])}${r.url}`)
    expect(pages.sort()).toEqual(['shop.example/sm/1?color=red&size=2', 'shop.example/sm/2', 'shop.example/sm/3', 'www.example/sm/4'])

    // a path: the sitemap itself is fetched through corral
    origin.on('/maps/site.xml', { headers: { 'cache-control': 'max-age=60' }, body: `<urlset>${loc('/sm/5')}</urlset>` })
    const viaTarget = await warmHere(['--sitemap', '/maps/site.xml', '--target', target, '--json'])
    expect(viaTarget.code, viaTarget.stderr).toBe(0)
    expect(summary(viaTarget)).toMatchObject({ total: 1, cacheStatus: { MISS: 1 } })
    expect(under('/maps/site.xml')[0]?.headers.via).toBeDefined() // it came through corral
  })

  it('sends absolute URLs with their Host, paths with --host, and --header on every request', async () => {
    const list = file('hosts.txt', ['http://api.example.com/h/1', 'https://Other.Example:8443/h/1#fragment', '/h/1', '/enc/1'])
    const args = ['--file', list, '--target', target, '--host', 'default.example', '--header', 'Accept-Encoding: gzip', '--json']
    const first = await warmHere(args)
    expect(first.code, first.stderr).toBe(0)
    expect(summary(first).cacheStatus).toEqual({ MISS: 4 })
    // three entries for one path: the Host is part of the key
    const hosts = under('/h/1').map((r) => r.headers['x-forwarded-host'])
    expect(hosts.sort()).toEqual(['api.example.com', 'default.example', 'other.example:8443'])
    expect(under('/enc/1')[0]?.headers['accept-encoding']).toBe('gzip')
    expect(under('/enc/1')[0]?.headers['user-agent']).toMatch(/^corral-warm\//)

    const second = await warmHere(args)
    expect(summary(second).cacheStatus).toEqual({ HIT: 4 })
    // the variant warmed is the one asked for with that Accept-Encoding
    const get = client(target)
    expect((await get('/enc/1', { headers: { host: 'default.example', 'accept-encoding': 'gzip' } })).cacheStatus).toBe('HIT')
    expect((await get('/enc/1', { headers: { host: 'default.example', 'accept-encoding': 'br' } })).cacheStatus).toBe('MISS')
  })

  it('counts failures (5xx, timeouts, lines that are not URLs), names the first ones and exits 1', async () => {
    const list = file('failures.txt', ['/fine/1', '/fail/1', '/gone/1', 'ftp://example.com/x', '/slow/1', '/fine/2', '/fail/2'])
    const run = await warm(['--file', list, '--target', target, '--timeout', '500ms'])
    expect(run.code, run.stderr).toBe(1)
    expect(run.stdout).toMatch(/^ {2}status: +2xx 2 {2}4xx 1 {2}5xx 2$/m)
    expect(run.stdout).toMatch(/^ {2}failed: +4 {2}\(2 × HTTP 503, 1 × not an http\(s\) URL or a path starting with \/, 1 × timed out after 500ms\)$/m)
    expect(run.stdout).toContain('    /fail/1  HTTP 503\n')
    expect(run.stdout).toContain('    ftp://example.com/x  not an http(s) URL or a path starting with /\n')
    expect(run.stdout).toContain('    /slow/1  timed out after 500ms\n')
    expect(run.stdout).not.toContain('/gone/1') // a 404 is an answer corral can keep, not a failure
    expect(under('/fail/')).toHaveLength(2)

    const refused = await warmHere(['--file', list, '--target', `http://127.0.0.1:${await closedPort()}`, '--json'])
    expect(refused.code).toBe(1)
    const s = summary(refused)
    expect(s).toMatchObject({ total: 7, responses: 0, failed: 7, ok: false })
    expect(Object.keys(s.failureReasons).join()).toContain('ECONNREFUSED')
  })

  it('refuses bad usage with one line and exit status 2', async () => {
    const list = file('usage.txt', ['/u/1'])
    const cases: Array<[string[], RegExp]> = [
      [['--concurency', '4', '--file', list], /^corral: warm: unknown option '--concurency' \(did you mean --concurrency\?\)$/],
      [['--file', join(dir, 'missing.txt')], /^corral: warm: --file: cannot read .*missing\.txt: no such file$/],
      [['--file', dir], /^corral: warm: --file: cannot read .*: it is a directory$/],
      [[list], /^corral: warm: unexpected argument ".*usage\.txt" \(to read URLs from it: --file .*usage\.txt\)$/],
      [['--file', list, '--rate', '0'], /^corral: warm: --rate: expected requests per second above 0/],
      [['--file', list, '--concurrency', 'many'], /^corral: warm: --concurrency: expected a whole number from 1 to 1000, got "many"$/],
      [['--file', list, '--concurrency', '-1'], /^corral: warm: --concurrency: expected a value$/],
      [['--file', list, '--method', 'POST'], /^corral: warm: --method: expected GET or HEAD/],
      [['--file', list, '--timeout', '30'], /^corral: warm: --timeout: give the unit, like "30s" or "500ms", got "30"$/],
      [['--file', list, '--header', 'no colon'], /^corral: warm: --header: expected 'Name: value', got "no colon"$/],
      [['--file', list, '--target', 'localhost:8080'], /^corral: warm: --target: expected an http:\/\/ or https:\/\/ URL/],
      [['--file', list, '--target'], /^corral: warm: --target: expected a value$/],
      [['--sitemap', `${origin.url}/maps/none.xml`], /^corral: warm: --sitemap http:\/\/127\.0\.0\.1:\d+\/maps\/none\.xml: not a sitemap/],
    ]
    // the first two as the command (the exit status of the process), the rest in this process
    const runs = await Promise.all(cases.map(([args], i) => (i < 2 ? warm(args) : warmHere(args))))
    runs.forEach((run, i) => {
      const [args, message] = cases[i]!
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stdout).toBe('')
      const lines = run.stderr.split('\n').filter((l) => l !== '')
      expect(lines, args.join(' ')).toHaveLength(1)
      expect(lines[0]).toMatch(message)
    })
    expect(under('/u/')).toHaveLength(0)
  })

  // `script` (util-linux) gives the command a terminal: the progress bar and "no source" need one.
  const hasScript = spawnSync('script', ['--version']).status === 0
  it.skipIf(!hasScript)('on a terminal: a progress bar redrawn in place at most ~10 times a second; no source is a usage error', async () => {
    const list = file('tty.txt', Array.from({ length: 60 }, (_, i) => `/tty/${i}`))
    const command = (args: string): string => `stty cols 100; ${[process.execPath, ...CLI].join(' ')} ${args}`
    const tty = await run('script', ['-qec', command(`--file ${list} --target ${target} --rate 60`), '/dev/null'])
    expect(tty.code, tty.out).toBe(0)
    const redraws = tty.out.split('\r').filter((s) => /^\[[#-]+\] \d+\/60/.test(s))
    expect(redraws.length).toBeGreaterThan(3)
    expect(redraws.length).toBeLessThanOrEqual(Math.ceil(tty.ms / 100) + 2)
    expect(redraws.at(-1)).toMatch(/^\[#{30}\] 60\/60 100% {2}[\d.]+\/s {2}MISS 60 {2}errors 0/)
    // cut to the terminal's width (100 columns): a line that wrapped could not be redrawn in place
    for (const line of redraws) expect(line.replace('\x1b[K', '').replace(/\n[\s\S]*/, '').length).toBeLessThan(100)

    const none = await run('script', ['-qec', command(`--target ${target}`), '/dev/null'])
    expect(none.code).toBe(2)
    expect(none.out.trim()).toBe('corral: warm: no URLs to warm: give --file <path>, --sitemap <url>, or pipe them on stdin (see corral warm --help)')
  })
})

function run(command: string, args: string[]): Promise<{ code: number | null; out: string; ms: number }> {
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    child.on('close', (code) => resolve({ code, out, ms: performance.now() - started }))
  })
}

async function until(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}
