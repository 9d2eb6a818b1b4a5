/**
 * The admin listener in one process: its auth, its error shape, health, and purge by URL, prefix,
 * tag and everything, hard and soft — and the PURGE method on the client listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from 'undici'
import { pino } from 'pino'
import { LocalBackend } from '../../src/admin/backend.js'
import { startAdmin, type AdminServer } from '../../src/admin/server.js'
import type { Gateway } from '../../src/gateway.js'
import { Origin } from '../helpers/origin.js'
import { client, startTestGateway, testConfig, type Get } from '../helpers/gateway.js'

const TOKEN = 'test-token-0123456789abcdef'

interface Bed {
  origin: Origin
  gateway: Gateway
  admin: AdminServer
  get: Get
}

async function startBed(extra: Record<string, unknown>, token: string | null = TOKEN): Promise<Bed> {
  const origin = await Origin.start()
  const config = testConfig(origin.url, extra)
  const withToken = { ...config, admin: { ...config.admin, port: 0, token: token ?? undefined, tokenSource: token === null ? undefined : 'test' } }
  const gateway = await startTestGateway(withToken)
  const rt = gateway.runtime
  const admin = await startAdmin({ settings: () => rt.config.admin, backend: new LocalBackend(rt, undefined), log: pino({ level: 'silent' }) })
  return { origin, gateway, admin, get: client(gateway.urls[0]!) }
}

async function stopBed(bed: Bed | undefined): Promise<void> {
  await bed?.admin.close()
  await bed?.gateway.close()
  await bed?.origin.close()
}

async function call(
  bed: Bed,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
): Promise<{ status: number; json: Record<string, unknown>; headers: Record<string, unknown> }> {
  const res = await request(bed.admin.url + path, {
    method: method as 'GET',
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.body.text()
  return { status: res.statusCode, json: JSON.parse(text) as Record<string, unknown>, headers: res.headers }
}

const purge = (bed: Bed, body: unknown): ReturnType<typeof call> => call(bed, 'POST', '/purge', body)

describe('admin listener: auth and errors', () => {
  let bed: Bed
  let open: Bed
  beforeAll(async () => {
    bed = await startBed({})
    open = await startBed({}, null)
  })
  afterAll(async () => {
    await stopBed(bed)
    await stopBed(open)
  })

  it('health and readiness need no token; readiness says Redis is off outside fleet mode', async () => {
    expect(await call(bed, 'GET', '/healthz', undefined, null)).toMatchObject({ status: 200, json: { status: 'ok' } })
    expect(await call(bed, 'GET', '/readyz', undefined, null)).toMatchObject({ status: 200, json: { status: 'ready', ready: true, redis: 'off' } })
  })

  it('refuses purge, reload and explain without the token, with a wrong one, and says how to set one when none is set', async () => {
    for (const [method, path] of [['POST', '/purge'], ['POST', '/reload'], ['GET', '/explain?url=/x']] as const) {
      const none = await call(bed, method, path, method === 'POST' ? { all: true } : undefined, null)
      expect(none).toMatchObject({ status: 401, json: { error: { code: 'unauthorized' } } })
      expect(none.headers['www-authenticate']).toBe('Bearer realm="corral admin"')
      const wrong = await call(bed, method, path, method === 'POST' ? { all: true } : undefined, `${TOKEN}x`)
      expect(wrong).toMatchObject({ status: 401, json: { error: { code: 'unauthorized', message: 'wrong admin token' } } })
      const unset = await call(open, method, path, method === 'POST' ? { all: true } : undefined, 'anything-at-all-here')
      expect(unset.status).toBe(403)
      expect(unset.json).toMatchObject({ error: { code: 'admin-token-not-set' } })
      expect(JSON.stringify(unset.json)).toContain('CORRAL_ADMIN_TOKEN')
    }
  })

  it('answers every error in one JSON shape', async () => {
    expect(await call(bed, 'GET', '/nope')).toMatchObject({ status: 404, json: { error: { code: 'not-found' } } })
    const wrongMethod = await call(bed, 'GET', '/purge')
    expect(wrongMethod).toMatchObject({ status: 405, json: { error: { code: 'method-not-allowed' } } })
    expect(wrongMethod.headers.allow).toBe('POST')
    expect(await purge(bed, '{nope')).toMatchObject({ status: 400, json: { error: { code: 'bad-request' } } })
    expect(await purge(bed, { url: '/a', tag: 'b' })).toMatchObject({ status: 400, json: { error: { message: 'purge: body: expected exactly one of url, prefix, tag, all, got url and tag' } } })
    expect(await purge(bed, [{ url: '/a' }, { urls: '/b' }])).toMatchObject({ status: 400, json: { error: { message: 'purge: [1].urls: unknown field (expected one of url, prefix, tag, all; and soft)' } } })
    expect(await purge(bed, { url: 'ftp://x/y' })).toMatchObject({ status: 400, json: { error: { message: 'purge: body.url: expected http://host/path?query or a path starting with /' } } })
    expect(await purge(bed, { tag: 'a b' })).toMatchObject({ status: 400 })
    expect(await call(bed, 'POST', '/reload')).toMatchObject({ status: 409, json: { error: { code: 'reload-unavailable' } } })
  })
})

describe('purge', () => {
  let bed: Bed
  beforeAll(async () => {
    bed = await startBed({})
  })
  afterAll(() => stopBed(bed))

  const cached = (tag?: string) => ({ headers: { 'cache-control': 'max-age=300', ...(tag === undefined ? {} : { 'surrogate-key': tag }) }, body: 'v' })

  it('by URL: every variant and both query orders of it, and nothing else; the next request is a MISS', async () => {
    const { origin, get } = bed
    origin.on('/u/1', (r) => ({ headers: { 'cache-control': 'max-age=300', vary: 'accept-language' }, body: `1 ${String(r.headers['accept-language'])}` }))
    origin.on('/u/2', cached())
    await get('/u/1?b=2&a=1', { headers: { 'accept-language': 'en' } })
    await get('/u/1?b=2&a=1', { headers: { 'accept-language': 'fr' } })
    await get('/u/2')
    expect((await get('/u/1?a=1&b=2', { headers: { 'accept-language': 'fr' } })).cacheStatus).toBe('HIT')
    const host = new URL(bed.gateway.urls[0]!).host
    const answer = await purge(bed, { url: `http://${host}/u/1?a=1&b=2` })
    expect(answer).toMatchObject({ status: 200, json: { purged: 2, results: [{ kind: 'url', entries: 2, soft: false }] } })
    expect((await get('/u/1?b=2&a=1', { headers: { 'accept-language': 'en' } })).cacheStatus).toBe('MISS')
    expect((await get('/u/1?b=2&a=1', { headers: { 'accept-language': 'fr' } })).cacheStatus).toBe('MISS')
    expect((await get('/u/2')).cacheStatus).toBe('HIT')
    // A path alone: that path on every host.
    expect(await purge(bed, { url: '/u/2' })).toMatchObject({ status: 200, json: { purged: 1 } })
    expect((await get('/u/2')).cacheStatus).toBe('MISS')
  })

  it('by prefix, on one host or on every host', async () => {
    const { origin, get } = bed
    origin.on('/p/a', cached()).on('/p/b', cached()).on('/q/a', cached())
    for (const path of ['/p/a', '/p/b', '/q/a']) await get(path)
    expect(await purge(bed, { prefix: 'http://elsewhere.test/p/' })).toMatchObject({ json: { purged: 0 } })
    expect(await purge(bed, { prefix: '/p/' })).toMatchObject({ status: 200, json: { purged: 2 } })
    expect((await get('/p/a')).cacheStatus).toBe('MISS')
    expect((await get('/q/a')).cacheStatus).toBe('HIT')
  })

  it('by tag, from Surrogate-Key or Cache-Tag (space or comma separated); clients never see the tag fields', async () => {
    const { origin, get } = bed
    origin.on('/t/1', cached('product-1 list'))
    origin.on('/t/2', { headers: { 'cache-control': 'max-age=300', 'cache-tag': 'list,product-2' }, body: 'v' })
    origin.on('/t/3', cached('product-3'))
    const miss = await get('/t/1')
    expect(miss.headers['surrogate-key']).toBeUndefined()
    await get('/t/2')
    await get('/t/3')
    const hit = await get('/t/2')
    expect(hit.cacheStatus).toBe('HIT')
    expect(hit.headers['cache-tag']).toBeUndefined()
    expect(await purge(bed, { tag: 'list' })).toMatchObject({ status: 200, json: { purged: 2 } })
    expect((await get('/t/1')).cacheStatus).toBe('MISS')
    expect((await get('/t/2')).cacheStatus).toBe('MISS')
    expect((await get('/t/3')).cacheStatus).toBe('HIT')
  })

  it('soft: the entry is served stale while one request revalidates it with its validator', async () => {
    const { origin, get } = bed
    let version = 1
    origin.on('/s', (r) =>
      r.headers['if-none-match'] === `"v${version}"`
        ? { status: 304, headers: { etag: `"v${version}"`, 'cache-control': 'max-age=300, stale-while-revalidate=60' } }
        : { headers: { etag: `"v${version}"`, 'cache-control': 'max-age=300, stale-while-revalidate=60' }, body: `v${version}` },
    )
    origin.on('/s-strict', (r) => (r.headers['if-none-match'] === '"x"' ? { status: 304, headers: { etag: '"x"' } } : { headers: { etag: '"x"', 'cache-control': 'max-age=300' }, body: 'strict' }))
    await get('/s')
    await get('/s-strict')
    version = 2
    expect(await purge(bed, [{ url: '/s', soft: true }, { url: '/s-strict', soft: true }])).toMatchObject({ json: { purged: 2 } })
    // stale-while-revalidate: served at once, refreshed in the background.
    const stale = await get('/s')
    expect(stale).toMatchObject({ body: 'v1' })
    expect(['STALE', 'UPDATING']).toContain(stale.cacheStatus)
    await expect.poll(async () => (await get('/s')).body, { timeout: 2_000 }).toBe('v2')
    // No stale window: the next request revalidates before answering (a conditional request).
    const seenBefore = origin.seen.length
    const revalidated = await get('/s-strict')
    expect({ body: revalidated.body, status: revalidated.cacheStatus }).toEqual({ body: 'strict', status: 'REVALIDATED' })
    expect(origin.seen.slice(seenBefore).map((r) => r.headers['if-none-match'])).toEqual(['"x"'])
  })

  it('reads the body as JSON whatever type it declares (curl -d says form-urlencoded)', async () => {
    const res = await request(bed.admin.url + '/purge', {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: '{"url": "/nothing-here"}',
    })
    expect(res.statusCode).toBe(200)
    expect(await res.body.json()).toMatchObject({ purged: 0 })
  })

  it('everything, and the count says how many entries went', async () => {
    const { origin, get } = bed
    origin.otherwise(cached())
    await purge(bed, { all: true })
    for (const path of ['/all/1', '/all/2', '/all/3']) await get(path)
    expect(await purge(bed, { all: true })).toMatchObject({ status: 200, json: { purged: 3 } })
    expect((await get('/all/1')).cacheStatus).toBe('MISS')
  })
})

describe('tag fields and clients', () => {
  const TAGS = { 'surrogate-key': 'product-1 list', 'cache-tag': 'list' }
  const tagged = (cacheControl: string) => ({ headers: { 'cache-control': cacheControl, ...TAGS }, body: 'v' })
  const routes = [
    { name: 'off', match: { path: '/off/' }, cache: false },
    { name: 'default', cache: true },
  ]

  /** The cache status of each path's response and the tag fields it carried, with a gateway of `extra` config. */
  async function tagsOnEveryPath(extra: Record<string, unknown>): Promise<Record<string, { cacheStatus: string | undefined; tags: unknown[] }>> {
    const bed = await startBed({ routes, ...extra })
    try {
      const { origin, get } = bed
      origin.on('/stored', tagged('max-age=300')).on('/uncacheable', tagged('no-store')).on('/post', tagged('no-store')).on('/off/1', tagged('max-age=300'))
      const answers = {
        miss: await get('/stored'),
        hit: await get('/stored'),
        uncacheable: await get('/uncacheable'),
        post: await get('/post', { method: 'POST', body: 'x' }),
        routeWithoutCache: await get('/off/1'),
      }
      return Object.fromEntries(
        Object.entries(answers).map(([name, got]) => [name, { cacheStatus: got.cacheStatus, tags: [got.headers['surrogate-key'], got.headers['cache-tag']] }]),
      )
    } finally {
      await stopBed(bed)
    }
  }

  const everyPath = (tags: unknown[]) => ({
    miss: { cacheStatus: 'MISS', tags },
    hit: { cacheStatus: 'HIT', tags },
    uncacheable: { cacheStatus: 'MISS', tags },
    post: { cacheStatus: 'BYPASS', tags },
    routeWithoutCache: { cacheStatus: 'BYPASS', tags },
  })

  it('are kept from clients on every path by default, not only on stored responses', async () => {
    expect(await tagsOnEveryPath({})).toEqual(everyPath([undefined, undefined]))
  })

  it('reach clients on every path with purge.exposeTags', async () => {
    expect(await tagsOnEveryPath({ purge: { exposeTags: true } })).toEqual(everyPath([TAGS['surrogate-key'], TAGS['cache-tag']]))
  })
})

describe('the PURGE method on the client listener', () => {
  let allowed: Bed
  let elsewhere: Bed
  let off: Bed
  beforeAll(async () => {
    allowed = await startBed({ purge: { method: true, allow: ['127.0.0.0/8', '::1'] } })
    elsewhere = await startBed({ purge: { method: true, allow: ['10.0.0.0/8'] } })
    off = await startBed({})
  })
  afterAll(async () => {
    await stopBed(allowed)
    await stopBed(elsewhere)
    await stopBed(off)
  })

  it('purges the URL when the client address is allowed, soft with Soft-Purge: 1', async () => {
    const { origin, get } = allowed
    origin.on('/m', (r) => (r.headers['if-none-match'] === '"m"' ? { status: 304, headers: { etag: '"m"' } } : { headers: { 'cache-control': 'max-age=300', etag: '"m"' }, body: 'm' }))
    await get('/m')
    expect((await get('/m')).cacheStatus).toBe('HIT')
    const purged = await get('/m', { method: 'PURGE' })
    expect(purged.status).toBe(200)
    expect(JSON.parse(purged.body)).toEqual({ purged: 1 })
    expect((await get('/m')).cacheStatus).toBe('MISS')
    const soft = await get('/m', { method: 'PURGE', headers: { 'soft-purge': '1' } })
    expect(JSON.parse(soft.body)).toEqual({ purged: 1 })
    expect((await get('/m')).cacheStatus).toBe('REVALIDATED')
    expect(origin.seen.filter((r) => r.method === 'PURGE')).toHaveLength(0)
  })

  it('a fetch under way when the purge comes is answered but not stored: the next request goes to the origin', async () => {
    const { origin, get } = allowed
    origin.on('/moving', (_r, n) => ({ headers: { 'cache-control': 'max-age=300' }, body: n === 1 ? 'before' : 'after' }))
    const open = origin.closeGate()
    const first = get('/moving')
    while (origin.held === 0) await new Promise((r) => setTimeout(r, 5))
    expect(JSON.parse((await get('/moving', { method: 'PURGE' })).body)).toEqual({ purged: 0 })
    open()
    const answered = await first
    expect(answered).toMatchObject({ status: 200, body: 'before' })
    expect(answered.cacheStatusHeader).not.toMatch(/stored/)
    expect(await get('/moving')).toMatchObject({ cacheStatus: 'MISS', body: 'after' })
    expect(await get('/moving')).toMatchObject({ cacheStatus: 'HIT', body: 'after' })
  })

  it('is refused from an address outside the list, and the entry stays', async () => {
    const { origin, get } = elsewhere
    origin.on('/m', { headers: { 'cache-control': 'max-age=300' }, body: 'm' })
    await get('/m')
    const refused = await get('/m', { method: 'PURGE' })
    expect(refused.status).toBe(403)
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'forbidden' } })
    expect((await get('/m')).cacheStatus).toBe('HIT')
  })

  it('off by default: PURGE is a method like any other, passed to the origin', async () => {
    const { origin, get } = off
    origin.on('/m', { headers: { 'cache-control': 'max-age=300' }, body: 'm' })
    await get('/m')
    await get('/m', { method: 'PURGE' })
    expect(origin.seen.filter((r) => r.method === 'PURGE')).toHaveLength(1)
  })
})
