/**
 * The load-test report (`npm run loadtest -- … --html <file>`) in a real headless browser
 * (Debian's chromium driven by playwright-core): a real, short load test (`hit`: corral from
 * dist/ against the bare origin, 1 s each), its HTML opened from disk. The charts must be drawn
 * and show the figures of the scenario's JSON line, printed by the same run: one throughput bar
 * per second of each run, adding up to its responses; latency histograms holding every 2xx
 * response, p50 and p99 where the JSON says; the table's cells those of the JSON. The page must
 * load nothing and log no error.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { chromium, type Browser, type Locator } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Report } from '../../load-tests/lib.js'
import { tableRows } from '../../load-tests/table.js'
import { CHROMIUM, describeBrowser } from '../helpers/browser.js'

const run = promisify(execFile)

/** Newest modification time under a directory, in ms. */
function newest(dir: string): number {
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }
  return latest
}

/** `hit` runs corral from dist/: build it when it is missing or older than src/ (`npm ci` builds it in CI). */
async function buildIfStale(): Promise<void> {
  if (existsSync('dist/cli.js') && statSync('dist/cli.js').mtimeMs >= newest('src')) return
  await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { timeout: 120_000 })
}

/** The attributes of every element a locator matches, in document order. */
async function attributes(locator: Locator, names: readonly string[]): Promise<Array<Record<string, string | null>>> {
  return locator.evaluateAll(
    (elements: Array<{ getAttribute(name: string): string | null }>, wanted: readonly string[]) =>
      elements.map((e) => Object.fromEntries(wanted.map((name) => [name, e.getAttribute(name)]))),
    names,
  )
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0)

describeBrowser('the load-test HTML report in headless Chromium', () => {
  let dir: string
  let html: string
  let line: Report
  let stdout: string
  let browser: Browser

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'corral-report-test-'))
    html = join(dir, 'report.html')
    const launched = chromium.launch({ executablePath: CHROMIUM, headless: true }).then((b) => (browser = b))
    await buildIfStale()
    const args = ['--import', 'tsx', 'load-tests/run.ts', 'hit', '--duration', '1', '--warmup', '0', '--quiet-logs', '--json', '--html', html]
    stdout = (await run(process.execPath, args, { timeout: 60_000 })).stdout
    line = JSON.parse(stdout.trim().split('\n').at(-1)!) as Report
    await launched
  }, 150_000)

  afterAll(async () => {
    await browser?.close()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('draws each run of the scenario from the figures of its JSON line, and loads nothing', async () => {
    expect(line.scenario).toBe('hit')
    expect(line.problems).toBeUndefined()
    const baseline = line.baseline as Report
    expect(line.requests).toBeGreaterThan(0)
    expect(baseline.requests).toBeGreaterThan(0)

    const page = await browser.newPage()
    const requested: string[] = []
    const consoleErrors: string[] = []
    page.on('request', (r) => requested.push(r.url()))
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text())
    })
    page.on('pageerror', (e) => consoleErrors.push(String(e)))
    const url = pathToFileURL(html).href
    await page.goto(url)
    expect(await page.title()).toBe('corral load test')

    // The page holds the JSON line as printed, and the runs recorded.
    const embedded = JSON.parse((await page.locator('#loadtest-data').textContent())!) as {
      scenarios: Array<{ scenario: string; report: Report; runs: Array<{ run: number; target: string; perSecond: number[] }> }>
    }
    expect(embedded.scenarios.map((s) => s.scenario)).toEqual(['hit'])
    expect(embedded.scenarios[0]!.report).toEqual(line)
    expect(embedded.scenarios[0]!.runs.map((r) => r.target)).toEqual(['origin', 'corral'])

    // The table: the scenario's row and its baseline's, as the JSON has them.
    const section = page.locator('section[data-scenario="hit"]')
    for (const [field, figures] of [['scenario', line], ['baseline', baseline]] as const) {
      const row = section.locator(`table[data-table="scenario"] tr[data-field="${field}"]`)
      expect(Number(await row.getAttribute('data-req-per-sec'))).toBe(figures.reqPerSec)
      const cells = await row.locator('td').allTextContents()
      expect(cells[0]).toBe(Math.round(figures.reqPerSec).toLocaleString('en-US'))
      expect(cells[1]).toBe(figures.p50Ms.toFixed(2))
      expect(cells[2]).toBe(figures.p99Ms.toFixed(2))
      expect(cells[3]).toBe(String(figures.errors + figures.non2xx))
      expect(cells[4]).toBe(figures.originHits.toLocaleString('en-US'))
    }
    const versus = (await section.locator('tr[data-field="scenario"] td').last().textContent())!
    expect(versus).toBe(`${(line.ratioReqPerSec as number).toFixed(2)}× req/s, ${(line.ratioP99 as number).toFixed(2)}× p99 of direct`)
    // … and the table the runner prints, row for row.
    const printed = tableRows(line, [])
      .split('\n')
      .map((l) => l.trim().split(/\s{2,}/)[0])
    expect(await section.locator('table[data-table="scenario"] tbody th').allTextContents()).toEqual(printed)

    // A card per run, corral's and its baseline's, each with its two charts drawn.
    for (const [target, figures] of [['corral', line], ['origin', baseline]] as const) {
      const card = section.locator(`figure.run[data-target="${target}"]`)
      await expect.poll(() => card.count()).toBe(1)
      expect(Number(await card.getAttribute('data-req-per-sec'))).toBe(figures.reqPerSec)

      // Throughput: one bar per second of the run, adding up to its responses, drawn to scale.
      const bars = card.locator('svg[data-chart="throughput"] rect.point')
      const perSecond = (await attributes(bars, ['data-second', 'data-value'])).map((a) => Number(a['data-value']))
      expect(perSecond.length).toBe(Math.round(figures.durationS))
      expect(sum(perSecond)).toBe(figures.requests)
      const heights = await Promise.all((await bars.all()).map(async (bar) => (await bar.boundingBox())!.height))
      heights.forEach((h, i) => {
        if (perSecond[i]! > 0) expect(h).toBeGreaterThan(0)
      })
      const tallest = perSecond.indexOf(Math.max(...perSecond))
      expect(Math.max(...heights)).toBe(heights[tallest])
      expect(Number(await card.locator('svg[data-chart="throughput"] line.mean').getAttribute('data-value'))).toBe(figures.reqPerSec)

      // Latency: every 2xx response in a bucket, contiguous buckets; p50 and p99 marked where the JSON says.
      const buckets = (await attributes(card.locator('svg[data-chart="latency"] rect.point'), ['data-from-ms', 'data-to-ms', 'data-count'])).map((a) => ({
        from: Number(a['data-from-ms']),
        to: Number(a['data-to-ms']),
        count: Number(a['data-count']),
      }))
      expect(buckets.length).toBeGreaterThan(0)
      expect(sum(buckets.map((b) => b.count))).toBe(figures.requests - figures.non2xx)
      buckets.slice(1).forEach((b, i) => expect(b.from).toBe(buckets[i]!.to))
      for (const [p, ms] of [[50, figures.p50Ms], [99, figures.p99Ms]] as const) {
        const marker = card.locator(`svg[data-chart="latency"] g.marker[data-percentile="${p}"]`)
        expect(Number(await marker.getAttribute('data-ms'))).toBe(ms)
        expect(await marker.isVisible()).toBe(true)
        // The bucket the marker stands in holds that latency (the histogram has µs resolution, the buckets are 26 % wide).
        expect(buckets.some((b) => b.from <= ms * 1.0001 && ms < b.to * 1.0001)).toBe(true)
        expect(Number(await card.locator(`table.percentiles tr[data-percentile="${p}"]`).getAttribute('data-ms'))).toBe(ms)
      }
      const box = (await card.locator('svg[data-chart="latency"]').boundingBox())!
      expect(box.width).toBeGreaterThan(200)
      expect(box.height).toBeGreaterThan(100)
    }

    // Self-contained: nothing but the file itself was requested, nothing complained.
    expect(requested).toEqual([url])
    expect(consoleErrors).toEqual([])
    expect(readFileSync(html, 'utf8')).not.toMatch(/<(?:link|img|iframe|object|embed)\b|\bsrc=|\bhref="(?!#)|url\(/)
    await page.close()
  }, 30_000)
})

describe('the load-test table', () => {
  const figures = (reqPerSec: number, p99Ms: number): Record<string, unknown> => ({ reqPerSec, p50Ms: p99Ms / 4, p99Ms, errors: 0, non2xx: 0, requests: reqPerSec * 2, durationS: 2, cpuPct: {} })

  it('shows every setup a scenario reports, with the same columns and its ratios to the baseline of the run', () => {
    // A scenario the table knows nothing of: its setups are found by their figures.
    const line = {
      scenario: 'new-path',
      ...figures(9_000, 6),
      errors: 2,
      non2xx: 1,
      originHits: 18_000,
      connections: 50,
      bareHop: { ...figures(12_000, 4), originHits: 24_000 },
      nginx: { label: 'nginx proxy_cache', note: '2 workers', ...figures(36_000, 1.5) },
      baseline: { scenario: 'direct', ...figures(30_000, 3), originHits: 60_100 },
      rounds: { memory: [1, 2] },
      problems: ['something was off'],
    } as unknown as Report
    expect(tableRows(line).split('\n')).toEqual([
      'new-path                        9,000      1.50      6.00       3        18,000  0.30× req/s, 2.00× p99 of direct',
      '  bare hop                     12,000      1.00      4.00       0        24,000  0.40× req/s, 1.33× p99',
      '  nginx proxy_cache            36,000      0.38      1.50       0                1.20× req/s, 0.50× p99; 2 workers',
      '  baseline: direct             30,000      0.75      3.00       0        60,100',
      '  ! something was off',
    ])
  })
})
