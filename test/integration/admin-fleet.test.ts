/**
 * The admin API as it runs: corral processes sharing a redis-server, and one with --workers 2.
 * A purge answered by one of them is obeyed by all within 100 ms; readiness reports Redis without
 * failing on it; reload takes a valid file under load without a failed request and refuses an
 * invalid one; `corral purge` calls the API.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkHealth } from '../../src/health.js'
import { configFile, startCorral, type CorralProcess } from '../helpers/corral-process.js'
import { Origin } from '../helpers/origin.js'
import { parseExposition } from '../helpers/prometheus.js'
import { describeRedis, startRedis, type RedisServer } from '../helpers/redis.js'
import { freePort } from '../helpers/sockets.js'

const TOKEN = 'fleet-admin-token-0123456789'
const HOST = 'api.test'
/** The bound: no instance serves a purged copy this long after the purge's answer. */
const PURGE_REACH_MS = 100

interface Answer {
  status: number
  body: string
  cacheStatus: string
}

async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(base + path, { headers: { host: HOST, ...headers } })
  return { status: res.statusCode, body: await res.body.text(), cacheStatus: String(res.headers['x-cache-status']) }
}

async function admin(base: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const res = await request(base + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.body.text()
  let json: Record<string, unknown> = {}
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    // /metrics is text
  }
  return { status: res.statusCode, json, text }
}

/** Starts corral with an admin listener on a port of its own; resolves with the process and the admin URL. */
async function startWithAdmin(args: string[], options: { workers?: number } = {}, env: Record<string, string> = {}): Promise<{ corral: CorralProcess; admin: string }> {
  const port = await freePort()
  const corral = await startCorral([...args, '--admin-port', String(port)], { CORRAL_ADMIN_TOKEN: TOKEN, ...env }, options)
  await corral.waitFor((l) => l.msg === 'admin listening')
  return { corral, admin: `http://127.0.0.1:${port}` }
}

/**
 * After a purge answered at `answeredAt`: ask `base` until it stops serving `old`, and say when the
 * last request still answered with it was sent, from the answer (0: none was).
 */
async function msUntilGone(base: string, path: string, old: string, answeredAt: number): Promise<number> {
  let lastOld = 0
  for (;;) {
    const sent = performance.now() - answeredAt
    const answer = await get(base, path)
    if (answer.body !== old) return lastOld
    lastOld = Math.max(0, sent)
    if (sent > 2_000) return Infinity
  }
}

function routes(originUrl: string, redisUrl: string, extra = ''): string {
  return `
listeners: [{host: 127.0.0.1, port: 0}]
upstreams: {default: {url: "${originUrl}"}}
store: {redis: {url: "${redisUrl}", prefix: adminfleet}}
log: {level: info, access: false}
routes:
${extra}  - {name: default, cache: true}
`
}

describeRedis('purge across a fleet sharing Redis', () => {
  let origin: Origin
  let redis: RedisServer
  let a: { corral: CorralProcess; admin: string }
  let b: CorralProcess
  let version = 1

  beforeAll(async () => {
    origin = await Origin.start()
    redis = await startRedis()
    origin.otherwise((r) => ({ headers: { 'cache-control': 'max-age=300', 'surrogate-key': `all ${r.url.split('?')[0]!.replaceAll('/', '-')}` }, body: `${r.url} v${version}` }))
    const file = configFile(routes(origin.url, redis.url))
    a = await startWithAdmin(['--config', file])
    b = await startCorral(['--config', file])
    for (const c of [a.corral, b]) await c.waitFor((l) => l.msg === 'redis connected: fleet mode on')
  }, 30_000)
  afterAll(async () => {
    for (const c of [a?.corral, b]) c?.kill('SIGTERM')
    await Promise.all([a?.corral.exited, b?.exited])
    await redis?.stop()
    await origin?.close()
  })

  it('by URL, tag and prefix: the other instance stops serving the old copy within 100 ms of the answer', async () => {
    const reach: number[] = []
    for (const [path, body] of [
      ['/url/1', { url: `http://${HOST}/url/1` }],
      ['/tag/1', { tag: '-tag-1' }],
      ['/pre/1', { prefix: `http://${HOST}/pre/` }],
    ] as const) {
      version = 1
      const old = `${path} v1`
      expect((await get(a.corral.url, path)).body).toBe(old)
      // B holds it in its own memory (L1) too: a hit there must not survive the purge either.
      expect(await get(b.url, path)).toMatchObject({ body: old, cacheStatus: 'HIT' })
      version = 2
      const answer = await admin(a.admin, 'POST', '/purge', body)
      const answeredAt = performance.now()
      expect(answer).toMatchObject({ status: 200, json: { purged: 1 } })
      reach.push(await msUntilGone(b.url, path, old, answeredAt))
      expect((await get(a.corral.url, path)).body).toBe(`${path} v2`)
    }
    expect(Math.max(...reach)).toBeLessThanOrEqual(PURGE_REACH_MS)
  })

  it('soft: the other instance revalidates instead of serving the old copy as fresh', async () => {
    version = 1
    await get(a.corral.url, '/soft/1')
    expect((await get(b.url, '/soft/1')).cacheStatus).toBe('HIT')
    version = 2
    expect(await admin(a.admin, 'POST', '/purge', { url: `http://${HOST}/soft/1`, soft: true })).toMatchObject({ status: 200, json: { purged: 1 } })
    await new Promise((resolve) => setTimeout(resolve, PURGE_REACH_MS))
    // No stale window was given: the next request goes to the origin (no validator here: a refetch).
    expect(await get(b.url, '/soft/1')).toMatchObject({ cacheStatus: 'EXPIRED', body: '/soft/1 v2' })
  })

  it('readiness reports Redis going away without failing, and coming back', async () => {
    expect(await admin(a.admin, 'GET', '/readyz')).toMatchObject({ status: 200, json: { ready: true, redis: 'up' } })
    await redis.kill()
    try {
      await expect.poll(async () => (await admin(a.admin, 'GET', '/readyz')).json.redis, { timeout: 5_000 }).toBe('down')
      expect((await admin(a.admin, 'GET', '/readyz')).status).toBe(200)
      // A purge that cannot reach the fleet says so.
      const partial = await admin(a.admin, 'POST', '/purge', { all: true })
      expect(partial).toMatchObject({ status: 503, json: { error: { code: 'purge-incomplete' } } })
    } finally {
      await redis.restart()
    }
    await expect.poll(async () => (await admin(a.admin, 'GET', '/readyz')).json.redis, { timeout: 10_000 }).toBe('up')
  }, 30_000)
})

describe('purge, metrics and reload with --workers 2 (no Redis)', () => {
  let origin: Origin
  let w: { corral: CorralProcess; admin: string }
  let version = 1
  let file: string
  let portFile: string

  const yaml = (ttl: string): string => `
listeners: [{host: 127.0.0.1, port: 0}]
upstreams: {default: {url: "${origin.url}"}}
server: {workers: 2}
log: {level: info, access: false}
routes:
  - {name: fixed, match: {path: /fixed/}, cache: {ttl: ${ttl}, originCacheControl: override}}
  - {name: default, cache: true}
`

  beforeAll(async () => {
    origin = await Origin.start()
    origin.otherwise((r) => ({ headers: { 'cache-control': 'max-age=300' }, body: `${r.url} v${version}` }))
    file = configFile(yaml('60s'))
    portFile = join(mkdtempSync(join(tmpdir(), 'corral-admin-')), 'corral.port')
    w = await startWithAdmin(['--config', file], { workers: 2 }, { CORRAL_PORT_FILE: portFile })
  }, 30_000)
  afterAll(async () => {
    w?.corral.kill('SIGTERM')
    await w?.corral.exited
    await origin?.close()
  })

  it('the port file names the admin listener, and corral health asks its /readyz', async () => {
    await expect.poll(() => existsSync(portFile)).toBe(true)
    const adminAddress = new URL(w.admin).host
    expect(readFileSync(portFile, 'utf8')).toBe(`${new URL(w.corral.url).host}\nadmin ${adminAddress}\n`)
    expect(await checkHealth(portFile)).toEqual({ ok: true, lines: [`${new URL(w.corral.url).host}: accepting connections`, `admin ${adminAddress}: ready`] })
  })

  it('a purge reaches both workers within 100 ms', async () => {
    version = 1
    // Connections are handed to the workers in turn: a few requests reach both.
    for (let i = 0; i < 6; i++) await get(w.corral.url, '/wk/1')
    expect(origin.hitsOn('/wk/1')).toBe(1)
    version = 2
    const answer = await admin(w.admin, 'POST', '/purge', { url: `http://${HOST}/wk/1` })
    const answeredAt = performance.now()
    expect(answer.json).toMatchObject({ purged: 1 })
    const after: string[] = []
    while (performance.now() - answeredAt < PURGE_REACH_MS) await new Promise((r) => setTimeout(r, 5))
    for (let i = 0; i < 6; i++) after.push((await get(w.corral.url, '/wk/1')).body)
    expect(after.every((body) => body === '/wk/1 v2')).toBe(true)
  })

  it('metrics add up both workers', async () => {
    const before = countHits((await admin(w.admin, 'GET', '/metrics')).text)
    for (let i = 0; i < 10; i++) await get(w.corral.url, '/wk/metrics')
    const text = (await admin(w.admin, 'GET', '/metrics')).text
    expect(countHits(text) - before).toBe(9)
  })

  it("metrics include the primary's own process, apart from the workers' sum", async () => {
    const metrics = parseExposition((await admin(w.admin, 'GET', '/metrics')).text)
    const primaryRss = metrics.value('corral_primary_process_resident_memory_bytes')
    const workersRss = metrics.value('corral_process_resident_memory_bytes')
    expect(primaryRss).toBeGreaterThan(0)
    // The workers' sum is that of two processes that each hold more than the primary does.
    expect(workersRss).toBeGreaterThan(primaryRss)
    expect(metrics.value('corral_primary_process_cpu_seconds_total')).toBeGreaterThan(0)
    expect(metrics.families.get('corral_primary_nodejs_eventloop_lag_seconds')?.type).toBe('gauge')
  })

  it('reloads every worker under load without a failed request; an invalid file is refused with its problems named', async () => {
    let failed = 0
    let done = 0
    let loading = true
    const load = (async () => {
      while (loading) {
        const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => get(w.corral.url, `/load/${i}`).catch(() => ({ status: 0 }) as Answer)))
        failed += answers.filter((x) => x.status !== 200).length
        done += answers.length
      }
    })()
    try {
      await get(w.corral.url, '/fixed/a')
      writeFileSync(file, yaml('not-a-duration').replace('cache: true', 'cache: {ttl: 5m, nonsense: 1}'))
      const refused = await admin(w.admin, 'POST', '/reload')
      expect(refused).toMatchObject({ status: 422, json: { error: { code: 'config-invalid' } } })
      const details = (refused.json.error as { details: string[] }).details
      expect(details.some((d) => d.startsWith('routes[0].cache.ttl'))).toBe(true)
      expect(details.some((d) => d.startsWith('routes[1].cache.nonsense'))).toBe(true)
      // The running config stays.
      expect((await get(w.corral.url, '/fixed/a')).cacheStatus).toBe('HIT')

      writeFileSync(file, yaml('60s').replace('{name: fixed,', '{name: fixed, cache: false, match: {path: /fixed/}}\n  - {name: unused,'))
      expect(await admin(w.admin, 'POST', '/reload')).toMatchObject({ status: 200, json: { reloaded: true, workers: 2, restartNeeded: [] } })
      // Both workers now pass /fixed/ through.
      for (let i = 0; i < 4; i++) expect((await get(w.corral.url, '/fixed/a')).cacheStatus).toBe('BYPASS')
      // SIGHUP does the same.
      writeFileSync(file, yaml('60s'))
      w.corral.kill('SIGHUP')
      await w.corral.waitFor((l) => l.msg === 'SIGHUP: configuration reloaded')
      await expect.poll(async () => (await get(w.corral.url, '/fixed/b')).cacheStatus, { timeout: 2_000 }).toBe('MISS')
    } finally {
      loading = false
      await load
    }
    expect(done).toBeGreaterThan(50)
    expect(failed).toBe(0)
  }, 30_000)

  it('corral purge calls the admin API', async () => {
    version = 1
    await get(w.corral.url, '/cli/1')
    const run = (args: string[], token = TOKEN): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'purge', ...args], { env: { ...process.env, CORRAL_ADMIN_TOKEN: token } })
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
        child.on('exit', (code) => resolve({ code, stdout, stderr }))
      })
    // Independent calls, in parallel: each process takes a while to start.
    const [purged, nothing, wrong] = await Promise.all([
      run(['--admin', w.admin, '--url', `http://${HOST}/cli/1`]),
      run(['--admn', w.admin]),
      run(['--admin', w.admin, '--tag', 'nothing-has-it', '--soft'], 'wrong-token-wrong-token'),
    ])
    expect(purged).toEqual({ code: 0, stdout: `url http://${HOST}/cli/1: 1 entry purged\n`, stderr: '' })
    expect((await get(w.corral.url, '/cli/1')).cacheStatus).toBe('MISS')
    expect(nothing).toMatchObject({ code: 2, stderr: "corral: purge: unknown option '--admn' (did you mean --admin?)\n" })
    expect(wrong).toMatchObject({ code: 1, stderr: 'corral: purge: wrong admin token (unauthorized)\n' })
  }, 30_000)
})

/** corral_requests_total{cache_status="HIT"} summed over routes. */
function countHits(text: string): number {
  return parseExposition(text)
    .series('corral_requests_total')
    .filter((s) => s.labels.cache_status === 'HIT')
    .reduce((sum, s) => sum + s.value, 0)
}
