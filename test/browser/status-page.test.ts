/**
 * The admin listener's status page in a real headless browser (Debian's chromium driven by
 * playwright-core): a real origin, a real corral process, a known mix of requests; the numbers
 * the page shows are checked against /metrics read at the same moment, then the page must follow
 * new traffic by itself, and say so when corral stops answering.
 */
import { readFileSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { configFile, startCorral, type CorralProcess } from '../helpers/corral-process.js'
import { Origin } from '../helpers/origin.js'
import { freePort } from '../helpers/sockets.js'
import { CHROMIUM, describeBrowser } from '../helpers/browser.js'


// ---- /metrics as the test reads it: its own small parser, independent of the page's ------------

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line)
    if (m === null) throw new Error(`unparsable metrics line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    const value = m[3] === '+Inf' ? Infinity : Number(m[3])
    samples.push({ name: m[1]!, labels, value })
  }
  return samples
}

function total(samples: Sample[], name: string, where: (labels: Record<string, string>) => boolean = () => true): number {
  return samples.filter((s) => s.name === name && where(s.labels)).reduce((sum, s) => sum + s.value, 0)
}

const CACHED = ['HIT', 'STALE', 'UPDATING', 'REVALIDATED']

function hitRatioOf(samples: Sample[]): number {
  const counted = (s: string): boolean => s !== 'BYPASS' && s !== 'NONE'
  const all = total(samples, 'corral_requests_total', (l) => counted(l.cache_status!))
  return total(samples, 'corral_requests_total', (l) => CACHED.includes(l.cache_status!)) / all
}

// ---- the page as the test reads it ------------------------------------------------------------

function selector(metric: string, labels: Record<string, string> = {}): string {
  return `[data-metric="${metric}"]` + Object.entries(labels).map(([k, v]) => `[data-${k}="${v}"]`).join('')
}

async function value(page: Page, metric: string, labels: Record<string, string> = {}): Promise<string> {
  const v = await page.locator(selector(metric, labels)).getAttribute('data-value')
  if (v === null) throw new Error(`no data-value on ${selector(metric, labels)}`)
  return v
}

async function number(page: Page, metric: string, labels: Record<string, string> = {}): Promise<number> {
  return Number(await value(page, metric, labels))
}

/**
 * The little of the page's globals that code run in it touches: this project's TypeScript has no
 * DOM types. (Such code is given as functions: the page's CSP forbids evaluating strings.)
 */
interface InPage {
  document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null }
}

/** Resolves once the element's data-value is this. */
async function waitForValue(page: Page, sel: string, want: string, timeout = 8_000): Promise<void> {
  await page.waitForFunction(
    ([s, w]) => (globalThis as unknown as InPage).document.querySelector(s)?.getAttribute('data-value') === w,
    [sel, want] as const,
    { timeout, polling: 50 },
  )
}

/** Resolves once the page shows this many requests in all. */
async function waitForTotal(page: Page, n: number): Promise<void> {
  await waitForValue(page, selector('requests-total', { 'cache-status': 'all' }), String(n))
}

describeBrowser('the status page in headless Chromium', () => {
  let origin: Origin
  let corral: CorralProcess
  let admin: string
  let browser: Browser
  let page: Page
  const requested: string[] = []
  const consoleErrors: string[] = []

  async function get(path: string): Promise<string> {
    const res = await fetch(corral.url + path)
    await res.text()
    return res.headers.get('x-cache-status') ?? ''
  }

  async function metrics(): Promise<Sample[]> {
    const res = await fetch(`${admin}/metrics`)
    expect(res.status).toBe(200)
    return parseMetrics(await res.text())
  }

  beforeAll(async () => {
    origin = await Origin.start()
    origin.otherwise({ headers: { 'cache-control': 'max-age=60' }, body: 'item' })
    const port = await freePort()
    admin = `http://127.0.0.1:${port}`
    const file = configFile(`
listeners: [{host: 127.0.0.1, port: 0}]
upstreams: {api: {url: "${origin.url}"}}
log: {level: info, access: false}
routes:
  - {name: items, match: {path: /items/}, upstream: api, cache: {ttl: 60s}}
  - {name: live, match: {path: /live}, upstream: api, cache: false}
`)
    // Both at once (each is a second or two); each kept as soon as it is there, for afterAll.
    await Promise.all([
      startCorral(['--config', file, '--admin-port', String(port)]).then((c) => (corral = c)),
      chromium.launch({ executablePath: CHROMIUM, headless: true }).then((b) => (browser = b)),
    ])
    await corral.waitFor((l) => l.msg === 'admin listening')
  }, 20_000)

  afterAll(async () => {
    await browser?.close()
    corral?.kill('SIGKILL')
    await origin?.close()
  })

  it('shows the numbers of /metrics, follows new traffic by itself, and says when an update fails', async () => {
    // A known mix: 3 misses, then 7 hits, and 2 requests on a route that does not cache.
    for (const i of [1, 2, 3]) expect(await get(`/items/${i}`)).toBe('MISS')
    for (const i of [1, 2, 3, 1, 2, 3, 1]) expect(await get(`/items/${i}`)).toBe('HIT')
    for (let i = 0; i < 2; i++) expect(await get('/live')).toBe('BYPASS')

    const context = await browser.newContext()
    page = await context.newPage()
    page.on('request', (r) => requested.push(r.url()))
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text())
    })
    page.on('pageerror', (e) => consoleErrors.push(String(e)))
    const response = await page.goto(`${admin}/`)
    expect(response?.status()).toBe(200)
    expect(await page.title()).toBe('corral status')

    await waitForTotal(page, 12)
    const scraped = await metrics()

    // Hit ratio: (HIT + STALE + UPDATING + REVALIDATED) / everything but BYPASS and NONE.
    expect(hitRatioOf(scraped)).toBeCloseTo(7 / 10, 10)
    expect(await number(page, 'hit-ratio')).toBeCloseTo(hitRatioOf(scraped), 10)
    expect(await page.locator(selector('hit-ratio')).textContent()).toBe('70.0 %')
    const tip = page.getByRole('button', { name: 'How the hit ratio is computed' })
    await tip.focus()
    await expect.poll(() => page.getByRole('tooltip').isVisible()).toBe(true)
    expect(await page.getByRole('tooltip').textContent()).toContain('HIT + STALE + UPDATING + REVALIDATED')

    // Totals by cache status, each as /metrics has it.
    const known: Record<string, number> = { HIT: 7, MISS: 3, BYPASS: 2, STALE: 0, EXPIRED: 0 }
    for (const [status, n] of Object.entries(known)) {
      expect(total(scraped, 'corral_requests_total', (l) => l.cache_status === status), status).toBe(n)
      expect(await number(page, 'requests-total', { 'cache-status': status }), status).toBe(n)
    }
    expect(await number(page, 'requests-total', { 'cache-status': 'all' })).toBe(total(scraped, 'corral_requests_total'))

    // The routes, from corral_route_info, in a table a screen reader can name.
    const routes = scraped.filter((s) => s.name === 'corral_route_info').map((s) => s.labels.route)
    expect(routes).toEqual(expect.arrayContaining(['items', 'live']))
    const table = page.getByRole('table', { name: 'Routes' })
    const shown = await Promise.all((await table.locator('tbody tr').all()).map((row) => row.getAttribute('data-route')))
    expect(shown).toEqual(routes)
    expect(await value(page, 'route-cached', { route: 'items' })).toBe('true')
    expect(await value(page, 'route-cached', { route: 'live' })).toBe('false')
    expect(await value(page, 'route-upstream', { route: 'items' })).toBe('api')
    expect(await number(page, 'route-requests', { route: 'items' })).toBe(10)
    expect(await table.getByRole('row', { name: /items/ }).textContent()).toContain('70.0 %')

    // Store entries: the three items, in memory.
    const entries = total(scraped, 'corral_store_entries', (l) => l.tier === 'memory')
    expect(entries).toBe(3)
    expect(await number(page, 'store-entries', { tier: 'memory' })).toBe(entries)
    expect(await number(page, 'store-bytes', { tier: 'memory' })).toBe(total(scraped, 'corral_store_bytes', (l) => l.tier === 'memory'))

    // Origin: three fills and two passes; latency estimated inside the histogram bucket that holds the rank.
    expect(total(scraped, 'corral_origin_requests_total')).toBe(origin.hits)
    expect(await number(page, 'origin-requests', { upstream: 'api' })).toBe(origin.hits)
    for (const [q, metric] of [[0.5, 'origin-p50'], [0.99, 'origin-p99']] as const) {
      const buckets = scraped
        .filter((s) => s.name === 'corral_origin_duration_seconds_bucket' && s.labels.upstream === 'api')
        .map((s) => ({ le: Number(s.labels.le === '+Inf' ? Infinity : s.labels.le), count: s.value }))
        .sort((a, b) => a.le - b.le)
      const count = buckets.at(-1)!.count
      const at = buckets.findIndex((b) => b.count >= q * count)
      const estimate = await number(page, metric, { upstream: 'api' })
      expect(estimate).toBeGreaterThanOrEqual(at === 0 ? 0 : buckets[at - 1]!.le)
      expect(estimate).toBeLessThanOrEqual(buckets[at]!.le)
    }
    expect(await number(page, 'origin-errors-all')).toBe(total(scraped, 'corral_origin_errors_total'))

    // Redis is off without fleet mode; the version is the package's; the process is described.
    expect(await value(page, 'redis')).toBe('off')
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }
    expect(await value(page, 'version')).toBe(pkg.version)
    expect(await number(page, 'rss-bytes')).toBeGreaterThan(10 * 1024 * 1024)
    expect(await value(page, 'eventloop-lag-seconds')).not.toBe('')
    expect(await page.locator(selector('updated-ago')).textContent()).toMatch(/^updated \d+s ago$/)

    // More traffic: the page follows without being reloaded, with requests/s from the deltas.
    await page.evaluate(`
      window.maxHitRate = 0
      new MutationObserver(() => {
        const rate = Number(document.querySelector('${selector('requests-rate', { 'cache-status': 'HIT' })}')?.getAttribute('data-value') || 0)
        window.maxHitRate = Math.max(window.maxHitRate, rate)
      }).observe(document.getElementById('status-rows'), { childList: true })
    `)
    const navigations = requested.filter((u) => u === `${admin}/`).length
    expect(await get('/items/4')).toBe('MISS')
    for (const i of [1, 2, 3, 4, 4]) expect(await get(`/items/${i}`)).toBe('HIT')
    await waitForTotal(page, 18)
    const later = await metrics()
    expect(hitRatioOf(later)).toBeCloseTo(12 / 16, 10)
    expect(await number(page, 'hit-ratio')).toBeCloseTo(hitRatioOf(later), 10)
    expect(await number(page, 'requests-total', { 'cache-status': 'HIT' })).toBe(12)
    expect(await number(page, 'store-entries', { tier: 'memory' })).toBe(4)
    const maxHitRate = await page.evaluate<number>('window.maxHitRate')
    expect(maxHitRate).toBeGreaterThan(0)
    expect(maxHitRate).toBeLessThanOrEqual(5 / 2) // 5 hits, and two scrapes are at least 2 s apart
    expect(requested.filter((u) => u === `${admin}/`).length).toBe(navigations)

    // The page asked nothing of anyone but the admin listener: the page, then metrics.
    expect(requested.length).toBeGreaterThan(2)
    for (const url of requested) expect([`${admin}/`, `${admin}/metrics`]).toContain(url)
    expect(consoleErrors).toEqual([])

    // The page's own parser and quantile estimate, on what a scrape may hold beyond this one.
    const text = ['# HELP x_total A "help" line', '# TYPE x_total counter', 'x_total{route="a\\"b\\\\c",cache_status="HIT"} 4 1700000000000', 'x_total{route="d, e}"} 1e3', 'y NaN', 'z{le="+Inf"} +Inf', 'garbage line here', ''].join('\n')
    const parsed = await page.evaluate<{ samples: Sample[]; types: Record<string, string>; p50: number | null; p99: number | null; none: number | null }>(`(() => {
      const api = window.corralStatus
      const buckets = [{ le: 0.005, count: 1 }, { le: 0.01, count: 3 }, { le: 0.05, count: 5 }, { le: Infinity, count: 6 }]
      return { ...api.parseExposition(${JSON.stringify(text)}), p50: api.quantile(0.5, buckets), p99: api.quantile(0.99, buckets), none: api.quantile(0.5, []) }
    })()`)
    expect(parsed.types).toEqual({ x_total: 'counter' })
    expect(parsed.samples.map((s) => [s.name, s.labels, s.value])).toEqual([
      ['x_total', { route: 'a"b\\c', cache_status: 'HIT' }, 4],
      ['x_total', { route: 'd, e}' }, 1000],
      ['y', {}, NaN],
      ['z', { le: '+Inf' }, Infinity],
    ])
    expect(parsed.p50).toBeCloseTo(0.01, 12) // rank 3 of 6: the top of the second bucket
    expect(parsed.p99).toBe(0.05) // in the +Inf bucket: the highest finite bound
    expect(parsed.none).toBeNull()

    // corral goes away: the page says so and keeps the last numbers.
    corral.kill('SIGKILL')
    await corral.exited
    await page.waitForFunction((s) => (globalThis as unknown as InPage).document.querySelector(s)?.getAttribute('data-value') !== '', selector('fetch-error'), { timeout: 6_000 })
    expect(await page.locator('#state').textContent()).toMatch(/update failed .*showing the last numbers/)
    expect(await number(page, 'requests-total', { 'cache-status': 'all' })).toBe(18)
    expect(await number(page, 'hit-ratio')).toBeCloseTo(12 / 16, 10)
    await context.close()
  }, 20_000)
})
