/** Ranges, targeted cache-control, heuristics, Set-Cookie policy, field-qualified directives, Early Hints. */
import { request as httpRequest } from 'node:http'
import { describe, expect, it, vi } from 'vitest'
import { later, useGateway } from '../helpers/gateway.js'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz'

const t = useGateway(() => ({
  store: { memory: { maxSize: '1MiB', maxObjectSize: '64KiB' } },
  routes: [
    { name: 'heuristic', match: { path: '/heuristic/' }, cache: { heuristic: '10%' } },
    { name: 'strip', match: { path: '/strip/' }, cache: { setCookie: 'strip' } },
    { name: 'targeted', match: { path: '/targeted/' }, cache: { targetedCacheControl: ['corral-cache-control', 'cdn-cache-control'] } },
    { name: 'range-pass', match: { path: '/range-pass/' }, cache: { rangeOnMiss: 'pass' } },
    { name: 'targeted-ttl', match: { path: '/targeted-ttl/' }, cache: { ttl: '1m', targetedCacheControl: ['corral-cache-control', 'cdn-cache-control'] } },
    { name: 'small', match: { path: '/small/' }, cache: { maxObjectSize: '16B' } },
    { name: 'client-cc', match: { path: '/client-cc/' }, cache: { clientCacheControl: { public: true, 'max-age': '30s' } } },
    { name: 'default', cache: true },
  ],
}))

const cacheable = { headers: { 'cache-control': 'max-age=60', 'content-type': 'text/plain', etag: '"abc"' }, body: ALPHABET }

describe('byte ranges from the stored response (RFC 9110 §14)', () => {
  it('a single range: 206 with Content-Range, also on the miss that fills the cache', async () => {
    t.origin.on('/r/single', cacheable)
    const miss = await t.get('/r/single', { headers: { range: 'bytes=0-4' } })
    expect(miss).toMatchObject({ status: 206, cacheStatus: 'MISS', body: 'abcde' })
    expect(miss.headers['content-range']).toBe('bytes 0-4/26')
    expect(t.origin.seen[0]?.headers.range).toBeUndefined()
    const hit = await t.get('/r/single', { headers: { range: 'bytes=-3' } })
    expect(hit).toMatchObject({ status: 206, cacheStatus: 'HIT', body: 'xyz' })
    expect(hit.headers['content-range']).toBe('bytes 23-25/26')
  })

  it('several ranges: multipart/byteranges', async () => {
    t.origin.on('/r/multi', cacheable)
    await t.get('/r/multi')
    const res = await t.get('/r/multi', { headers: { range: 'bytes=0-1, 24-' } })
    expect(res.status).toBe(206)
    const type = String(res.headers['content-type'])
    expect(type).toMatch(/^multipart\/byteranges; boundary=/)
    const boundary = type.split('boundary=')[1]!
    expect(res.body).toContain(`--${boundary}\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/26\r\n\r\nab\r\n`)
    expect(res.body).toContain(`Content-Range: bytes 24-25/26\r\n\r\nyz\r\n--${boundary}--`)
  })

  it('an unsatisfiable range: 416 with the length', async () => {
    t.origin.on('/r/416', cacheable)
    await t.get('/r/416')
    const res = await t.get('/r/416', { headers: { range: 'bytes=100-200' } })
    expect(res.status).toBe(416)
    expect(res.headers['content-range']).toBe('bytes */26')
  })

  it('If-Range: the range only when the strong ETag matches, else the whole object', async () => {
    t.origin.on('/r/if-range', cacheable)
    await t.get('/r/if-range')
    expect(await t.get('/r/if-range', { headers: { range: 'bytes=0-0', 'if-range': '"abc"' } })).toMatchObject({ status: 206, body: 'a' })
    expect(await t.get('/r/if-range', { headers: { range: 'bytes=0-0', 'if-range': '"old"' } })).toMatchObject({ status: 200, body: ALPHABET })
  })

  it('a range on a miss goes to the origin when the route says pass, or when the object is too large to store', async () => {
    t.origin.on('/range-pass/x', (r) => ({ status: r.headers.range ? 206 : 200, headers: { 'content-range': 'bytes 0-1/26' }, body: 'ab' }))
    expect(await t.get('/range-pass/x', { headers: { range: 'bytes=0-1' } })).toMatchObject({ status: 206, body: 'ab' })
    expect(t.origin.seen[0]?.headers.range).toBe('bytes=0-1')
    t.origin.on('/small/big', (r) =>
      r.headers.range ? { status: 206, headers: { 'content-range': 'bytes 0-1/26' }, body: 'ab' } : { ...cacheable, body: ALPHABET },
    )
    expect(await t.get('/small/big', { headers: { range: 'bytes=0-1' } })).toMatchObject({ status: 206, body: 'ab' })
  })
})

describe('targeted cache-control (RFC 9213)', () => {
  it('CDN-Cache-Control replaces Cache-Control for corral, and Cache-Control still goes to the client', async () => {
    t.origin.on('/targeted/cdn', (_r, n) => ({ headers: { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' }, body: `v${n}` }))
    await t.get('/targeted/cdn')
    const hit = await t.get('/targeted/cdn')
    expect(hit).toMatchObject({ cacheStatus: 'HIT', body: 'v1' })
    expect(hit.headers['cache-control']).toBe('no-store')
  })

  it('the first field of the route list wins, and a targeted no-store refuses what Cache-Control allows', async () => {
    t.origin.on('/targeted/mine', (_r, n) => ({
      headers: { 'cache-control': 'max-age=60', 'cdn-cache-control': 'max-age=60', 'corral-cache-control': 'no-store' },
      body: `v${n}`,
    }))
    await t.get('/targeted/mine')
    expect(await t.get('/targeted/mine')).toMatchObject({ cacheStatus: 'MISS', body: 'v2' })
  })

  it('an empty or invalid targeted field is passed over: the next one applies, else Cache-Control', async () => {
    t.origin.on('/targeted-ttl/empty', (_r, n) => ({ headers: { 'cache-control': 'private', 'cdn-cache-control': '' }, body: `v${n}` }))
    await t.get('/targeted-ttl/empty')
    // Cache-Control: private still holds, route TTL or not
    expect(await t.get('/targeted-ttl/empty')).toMatchObject({ cacheStatus: 'MISS', body: 'v2' })
    t.origin.on('/targeted-ttl/next', (_r, n) => ({
      headers: { 'cache-control': 'no-store', 'corral-cache-control': 'Max-Age=60', 'cdn-cache-control': 'max-age=60' },
      body: `v${n}`,
    }))
    await t.get('/targeted-ttl/next')
    expect(await t.get('/targeted-ttl/next')).toMatchObject({ cacheStatus: 'HIT', body: 'v1' })
  })

  it('by default only CDN-Cache-Control is read', async () => {
    t.origin.on('/plain-route', (_r, n) => ({ headers: { 'cache-control': 'max-age=60', 'corral-cache-control': 'no-store' }, body: `v${n}` }))
    await t.get('/plain-route')
    expect(await t.get('/plain-route')).toMatchObject({ cacheStatus: 'HIT' })
  })
})

describe('heuristic freshness (RFC 9111 §4.2.2)', () => {
  it('only when the route opts in: 10% of the time since Last-Modified', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const lastModified = new Date(Date.now() - 100_000).toUTCString()
    const reply = (_r: unknown, n: number) => ({ headers: { 'last-modified': lastModified }, body: `v${n}` })
    t.origin.on('/heuristic/a', reply)
    t.origin.on('/no-heuristic', reply)
    await t.get('/heuristic/a')
    await t.get('/no-heuristic')
    later(5_000)
    expect(await t.get('/heuristic/a')).toMatchObject({ cacheStatus: 'HIT', body: 'v1' })
    expect(await t.get('/no-heuristic')).toMatchObject({ cacheStatus: 'MISS', body: 'v2' })
    later(6_000)
    expect((await t.get('/heuristic/a')).cacheStatus).not.toBe('HIT')
  })
})

describe('Set-Cookie and field-qualified directives', () => {
  it('setCookie: strip stores the response without the cookie; only the requester gets it', async () => {
    t.origin.on('/strip/page', (_r, n) => ({ headers: { 'cache-control': 'max-age=60', 'set-cookie': `sid=${n}` }, body: 'page' }))
    const first = await t.get('/strip/page')
    expect(first.headers['set-cookie']).toBe('sid=1')
    const hit = await t.get('/strip/page')
    expect(hit).toMatchObject({ cacheStatus: 'HIT', body: 'page' })
    expect(hit.headers['set-cookie']).toBeUndefined()
  })

  it('private="x-user" and no-cache="x-debug" store the response without those fields', async () => {
    t.origin.on('/qualified', {
      headers: { 'cache-control': 'max-age=60, private="x-user", no-cache="x-debug"', 'x-user': 'alice', 'x-debug': 'on', 'x-kept': 'yes' },
      body: 'q',
    })
    const miss = await t.get('/qualified')
    expect(miss.headers['x-user']).toBe('alice')
    const hit = await t.get('/qualified')
    expect(hit).toMatchObject({ cacheStatus: 'HIT' })
    expect(hit.headers['x-user']).toBeUndefined()
    expect(hit.headers['x-debug']).toBeUndefined()
    expect(hit.headers['x-kept']).toBe('yes')
  })

  it('a duplicated max-age with different values makes the response stale at once', async () => {
    t.origin.on('/dup', (_r, n) => ({ headers: { 'cache-control': ['max-age=60', 'max-age=30'] }, body: `v${n}` }))
    await t.get('/dup')
    expect(await t.get('/dup')).toMatchObject({ body: 'v2' })
  })
})

describe('request directives never relax protections', () => {
  it('max-stale serves a stale entry, but never one that must revalidate', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/ms/ok', (_r, n) => ({ headers: { 'cache-control': 'max-age=1' }, body: `v${n}` }))
    t.origin.on('/ms/mr', (_r, n) => ({ headers: { 'cache-control': 'max-age=1, must-revalidate' }, body: `v${n}` }))
    await t.get('/ms/ok')
    await t.get('/ms/mr')
    later(3_000)
    const stale = await t.get('/ms/ok', { headers: { 'cache-control': 'max-stale=10' } })
    expect(stale).toMatchObject({ cacheStatus: 'STALE', body: 'v1' })
    expect(stale).toMatchObject({ age: 3 })
    expect(stale.cacheStatusHeader).toBe('corral; hit; ttl=-2; detail=max-stale')
    expect(await t.get('/ms/mr', { headers: { 'cache-control': 'max-stale' } })).toMatchObject({ cacheStatus: 'EXPIRED', body: 'v2' })
  })

  it('a request stale-if-error lets a stale copy answer an origin failure', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/rsie', (_r, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=1' }, body: 'good' } : { status: 503 }))
    await t.get('/rsie')
    later(5_000)
    expect(await t.get('/rsie')).toMatchObject({ status: 503 })
    expect(await t.get('/rsie', { headers: { 'cache-control': 'stale-if-error=60' } })).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'good' })
  })
})

describe('what corral keeps to itself', () => {
  it('an upstream X-Cache-Status is not stored; only corral\'s is sent', async () => {
    t.origin.on('/upstream-cache', { headers: { 'cache-control': 'max-age=60', 'x-cache-status': 'MISS' }, body: 'x' })
    await t.get('/upstream-cache')
    const hit = await t.get('/upstream-cache')
    expect(hit.headers['x-cache-status']).toBe('HIT')
  })

  it('a Set-Cookie in a 304 reaches the requester but is not stored', async () => {
    t.origin.on('/reval-cookie', (r) =>
      r.headers['if-none-match'] === '"c"'
        ? { status: 304, headers: { etag: '"c"', 'cache-control': 'max-age=60', 'set-cookie': 'seen=1' } }
        : { headers: { etag: '"c"', 'cache-control': 'max-age=0' }, body: 'c' },
    )
    await t.get('/reval-cookie')
    const revalidated = await t.get('/reval-cookie')
    expect(revalidated).toMatchObject({ cacheStatus: 'REVALIDATED', body: 'c' })
    expect(revalidated.headers['set-cookie']).toBe('seen=1')
    const hit = await t.get('/reval-cookie')
    expect(hit).toMatchObject({ cacheStatus: 'HIT' })
    expect(hit.headers['set-cookie']).toBeUndefined()
  })

  it('the set of Vary fields may change between responses', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/vary-change', (r, n) => ({
      headers: { 'cache-control': 'max-age=1', vary: n === 1 ? 'accept-language' : 'accept-encoding' },
      body: `v${n}:${String(r.headers['accept-encoding'])}`,
    }))
    await t.get('/vary-change', { headers: { 'accept-language': 'fr', 'accept-encoding': 'gzip' } })
    later(2_000)
    expect(await t.get('/vary-change', { headers: { 'accept-language': 'fr', 'accept-encoding': 'gzip' } })).toMatchObject({ body: 'v2:gzip' })
    expect(await t.get('/vary-change', { headers: { 'accept-language': 'de', 'accept-encoding': 'gzip' } })).toMatchObject({ cacheStatus: 'HIT', body: 'v2:gzip' })
    expect(await t.get('/vary-change', { headers: { 'accept-language': 'fr', 'accept-encoding': 'br' } })).toMatchObject({ cacheStatus: 'MISS', body: 'v3:br' })
  })
})

describe('stale-if-error details', () => {
  it('a no-cache entry with its own stale-if-error answers an origin failure', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/nc-sie', (_r, n) => (n === 1 ? { headers: { 'cache-control': 'no-cache, stale-if-error=60', etag: '"n"' }, body: 'kept' } : { status: 503 }))
    await t.get('/nc-sie')
    later(1_000)
    expect(await t.get('/nc-sie')).toMatchObject({ status: 200, cacheStatus: 'STALE', body: 'kept' })
  })

  it('only 500, 502, 503 and 504 count as errors (RFC 5861 §4)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    t.origin.on('/sie-501', (_r, n) => (n === 1 ? { headers: { 'cache-control': 'max-age=1, stale-if-error=60' }, body: 'kept' } : { status: 501, body: 'nope' }))
    await t.get('/sie-501')
    later(2_000)
    expect(await t.get('/sie-501')).toMatchObject({ status: 501, body: 'nope' })
  })
})

describe('pass-through keeps corral\'s word', () => {
  it('the origin\'s X-Cache-Status does not replace corral\'s, its Cache-Status comes first, and Via is sent', async () => {
    t.origin.on('/post-through', { status: 200, headers: { 'x-cache-status': 'HIT', 'cache-status': 'app; hit' }, body: 'ok' })
    const res = await t.get('/post-through', { method: 'POST', body: 'x' })
    expect(res.headers['x-cache-status']).toBe('BYPASS')
    expect(res.cacheStatusHeader).toBe('app; hit, corral; fwd=method; detail=method')
    expect(t.origin.seen[0]?.headers.via).toBe('1.1 corral')
  })
})

describe('ranges and HEAD', () => {
  it('a stored 204 answers a Range request whole, without Content-Length (RFC 9110 §8.6, §14.2)', async () => {
    t.origin.on('/r/204', { status: 204, headers: { 'cache-control': 'max-age=60' } })
    await t.get('/r/204')
    const res = await t.get('/r/204', { headers: { range: 'bytes=0-0' } })
    expect(res).toMatchObject({ status: 204, cacheStatus: 'HIT' })
    expect(res.headers['content-length']).toBeUndefined()
    expect(res.headers['content-range']).toBeUndefined()
  })

  it('a HEAD with Range gets the full header section (range handling is for GET only)', async () => {
    t.origin.on('/r/head', cacheable)
    await t.get('/r/head')
    const res = await t.get('/r/head', { method: 'HEAD', headers: { range: 'bytes=0-1' } })
    expect(res.status).toBe(200)
    expect(res.headers['content-range']).toBeUndefined()
    expect(res.headers['content-length']).toBe('26')
  })
})

describe('interim responses', () => {
  it('forwards 103 Early Hints to the client that caused the fetch', async () => {
    t.origin.on('/hints', { earlyHints: { link: '</app.css>; rel=preload; as=style' }, headers: { 'cache-control': 'max-age=60' }, body: 'page' })
    const hints = await new Promise<string[]>((resolve, reject) => {
      const seen: string[] = []
      const req = httpRequest(`${t.gateway.urls[0]!}/hints`, (res) => {
        res.resume()
        res.on('end', () => resolve(seen))
      })
      req.on('information', (info) => seen.push(`${info.statusCode} ${String(info.headers.link)}`))
      req.on('error', reject)
      req.end()
    })
    expect(hints).toEqual(['103 </app.css>; rel=preload; as=style'])
  })

  it('forwards 102 and every field of a 103 on the pass-through path too', async () => {
    t.origin.on('/hints-post', { processing: true, earlyHints: { link: '</a.js>; rel=preload; as=script', 'x-hint': 'yes' }, body: 'done' })
    const seen = await new Promise<Array<{ status: number; link: unknown; hint: unknown }>>((resolve, reject) => {
      const interim: Array<{ status: number; link: unknown; hint: unknown }> = []
      const req = httpRequest(`${t.gateway.urls[0]!}/hints-post`, { method: 'POST' }, (res) => {
        res.resume()
        res.on('end', () => resolve(interim))
      })
      req.on('information', (info) => interim.push({ status: info.statusCode, link: info.headers.link, hint: info.headers['x-hint'] }))
      req.on('error', reject)
      req.end('x')
    })
    expect(seen).toEqual([
      { status: 102, link: undefined, hint: undefined },
      { status: 103, link: '</a.js>; rel=preload; as=script', hint: 'yes' },
    ])
  })
})

describe('clientCacheControl: what clients are told', () => {
  const origin = {
    headers: { 'cache-control': 's-maxage=60, max-age=0', expires: 'Thu, 01 Jan 1970 00:00:00 GMT', etag: '"v1"' },
    body: 'shared',
  }

  it('replaces the origin\'s Cache-Control and Expires on a miss, a hit and a 304, while the cache keeps obeying the origin', async () => {
    t.origin.on('/client-cc/a', origin)
    const miss = await t.get('/client-cc/a')
    expect(miss).toMatchObject({ status: 200, cacheStatus: 'MISS', body: 'shared' })
    expect(miss.headers['cache-control']).toBe('public, max-age=30')
    expect(miss.headers.expires).toBeUndefined()
    // s-maxage=60 still governs the stored copy: the next request is a hit, not a refetch.
    const hit = await t.get('/client-cc/a')
    expect(hit).toMatchObject({ status: 200, cacheStatus: 'HIT' })
    expect(hit.headers['cache-control']).toBe('public, max-age=30')
    const notModified = await t.get('/client-cc/a', { headers: { 'if-none-match': '"v1"' } })
    expect(notModified.status).toBe(304)
    expect(notModified.headers['cache-control']).toBe('public, max-age=30')
    expect(t.origin.hitsOn('/client-cc/a')).toBe(1)
  })

  it('leaves responses corral does not store alone: a private answer keeps its own Cache-Control', async () => {
    t.origin.on('/client-cc/private', { headers: { 'cache-control': 'private, max-age=60' }, body: 'mine' })
    const res = await t.get('/client-cc/private')
    expect(res.cacheStatus).toBe('MISS')
    expect(res.headers['cache-control']).toBe('private, max-age=60')
  })

  it('the requester of a response stored without some of its fields gets the origin\'s Cache-Control with them; later clients get the route\'s', async () => {
    t.origin.on('/client-cc/own', { headers: { 'cache-control': 'private="x-user", max-age=60', 'x-user': 'alice-token' }, body: 'shared part' })
    const first = await t.get('/client-cc/own')
    expect(first.headers['x-user']).toBe('alice-token')
    expect(first.headers['cache-control']).toBe('private="x-user", max-age=60')
    const hit = await t.get('/client-cc/own')
    expect(hit).toMatchObject({ cacheStatus: 'HIT', body: 'shared part' })
    expect(hit.headers['x-user']).toBeUndefined()
    expect(hit.headers['cache-control']).toBe('public, max-age=30')
  })

  it('fields left out for other reasons are nobody\'s: no upstream X-Cache-Status, no Connection options, and the route\'s Cache-Control', async () => {
    t.origin.on('/client-cc/upstream', {
      headers: { 'cache-control': 'max-age=60', 'x-cache-status': 'HIT', connection: 'x-hop', 'x-hop': 'hop' },
      body: 'from behind another cache',
    })
    const miss = await t.get('/client-cc/upstream')
    expect(miss.headers['x-cache-status']).toBe('MISS')
    expect(miss.headers['x-hop']).toBeUndefined()
    expect(miss.headers['cache-control']).toBe('public, max-age=30')
  })

  it('other routes still pass the origin\'s fields on', async () => {
    t.origin.on('/other-cc', origin)
    await t.get('/other-cc')
    const hit = await t.get('/other-cc')
    expect(hit.cacheStatus).toBe('HIT')
    expect(hit.headers['cache-control']).toBe('s-maxage=60, max-age=0')
    expect(hit.headers.expires).toBe('Thu, 01 Jan 1970 00:00:00 GMT')
  })
})
