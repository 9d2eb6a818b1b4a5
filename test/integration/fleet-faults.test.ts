/**
 * Fail open: a Redis that dies, hangs or was never there costs no request. The fleet falls back
 * to each instance's memory and local coalescing, and shares again by itself when Redis returns.
 */
import { expect, it } from 'vitest'
import type { Got } from '../helpers/gateway.js'
import { client, startTestGateway, testConfig } from '../helpers/gateway.js'
import { FLEET_HOST, until, useFleet } from '../helpers/fleet-gateways.js'
import { describeRedis, findFreePort, startRedis } from '../helpers/redis.js'

const fleet = useFleet(2, () => ({
  coalesce: { waitTimeout: '2s', lease: '1s' },
  routes: [
    { name: 'long-lease', match: { path: '/long/' }, cache: { coalesce: { lease: '10s', waitTimeout: '10s' } } },
    { name: 'default', cache: true },
  ],
}))

/** Requests from `workers` loops, each on a random key and instance, until `stop` resolves. */
async function load(workers: number, keys: number, stop: Promise<void>): Promise<Got[]> {
  let running = true
  void stop.then(() => (running = false))
  const results: Got[] = []
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      let i = w
      while (running) {
        const get = fleet.gets[i % fleet.gets.length]!
        results.push(await get(`/load/${(i * 7) % keys}`))
        i++
      }
    }),
  )
  return results
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describeRedis('fleet mode fails open', () => {
  it('Redis killed under load, then restarted: zero failed requests, and shared caching resumes by itself', async () => {
    fleet.origin.otherwise((r) => ({ headers: { 'cache-control': 'max-age=60' }, body: `body of ${r.url}` }))
    let stopLoad!: () => void
    const running = load(16, 40, new Promise((resolve) => (stopLoad = resolve)))
    await sleep(400)
    await fleet.redis.kill()
    await sleep(800)
    await fleet.redis.restart()
    await sleep(400)
    stopLoad()
    const results = await running
    expect(results.length).toBeGreaterThan(200)
    expect(results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body}`)).toEqual([])
    expect(results.every((r) => r.status === 200 && r.body.startsWith('body of /load/'))).toBe(true)

    for (const g of fleet.gateways) expect(await g.runtime.redis!.whenAvailable(5_000)).toBe(true)
    // The fleet shares again: what A stores now, B serves from Redis.
    await until(async () => {
      const path = `/after/${Math.random()}`
      await fleet.gets[0]!(path)
      return (await fleet.gets[1]!(path)).cacheStatus === 'HIT'
    })
  })

  it('waiters of another instance do not sit out the lease when Redis dies: they fetch themselves', async () => {
    fleet.origin.on('/long/a', { headers: { 'cache-control': 'max-age=60' }, body: 'a' })
    const open = fleet.origin.closeGate()
    const leader = fleet.gets[0]!('/long/a')
    await until(() => fleet.origin.held === 1)
    const follower = fleet.gets[1]!('/long/a')
    await until(() => fleet.waiting() === 1)
    await fleet.redis.kill()
    const killedAt = Date.now()
    // The follower falls back at once (its lease timer would have said 10 s).
    await until(() => fleet.origin.held === 2)
    expect(Date.now() - killedAt).toBeLessThan(1_000)
    open()
    expect((await Promise.all([leader, follower])).map((r) => r.status)).toEqual([200, 200])
    await fleet.redis.restart()
    for (const g of fleet.gateways) expect(await g.runtime.redis!.whenAvailable(5_000)).toBe(true)
  })

  it('a Redis that stops answering (SIGSTOP) is cut off by the breaker: requests go on, quickly', async () => {
    const [a] = fleet.gateways
    fleet.origin.otherwise((r) => ({ headers: { 'cache-control': 'max-age=60' }, body: `body of ${r.url}` }))
    const redis = a!.runtime.redis!
    const opensBefore = redis.stats.breakerOpens
    process.kill(fleet.redis.pid!, 'SIGSTOP')
    try {
      const started = Date.now()
      const got: Got[] = []
      for (let i = 0; i < 30; i++) got.push(await fleet.gets[0]!(`/hung/${i}`))
      const tookMs = Date.now() - started
      expect(got.every((r) => r.status === 200 && r.cacheStatus === 'MISS')).toBe(true)
      expect(redis.stats.breakerOpens).toBeGreaterThan(opensBefore)
      // A handful of requests pay a command timeout (250 ms by default) before the breaker
      // opens; the rest do not wait on Redis at all.
      expect(tookMs).toBeLessThan(30 * 250)
      expect(await fleet.gets[0]!('/hung/0')).toMatchObject({ cacheStatus: 'HIT' }) // from L1
    } finally {
      process.kill(fleet.redis.pid!, 'SIGCONT')
    }
    // Requests probe Redis once the breaker has cooled down; the first answer closes it.
    await until(async () => {
      await fleet.gets[0]!(`/probe/${Math.random()}`)
      return redis.breakerState === 'closed'
    })
  })

  it('started while Redis is not there: serves from memory, and joins the fleet once Redis comes', async () => {
    const port = await findFreePort()
    const url = `redis://127.0.0.1:${port}`
    const config = testConfig(fleet.origin.url, { store: { redis: { url, prefix: 'late' } } })
    const a = await startTestGateway(config)
    const b = await startTestGateway(config)
    const get = (g: typeof a) => {
      const c = client(g.urls[0]!)
      return (path: string) => c(path, { headers: { host: FLEET_HOST } })
    }
    const [getA, getB] = [get(a), get(b)]
    try {
      fleet.origin.on('/early', { headers: { 'cache-control': 'max-age=60' }, body: 'e' })
      expect(await getA('/early')).toMatchObject({ status: 200, cacheStatus: 'MISS' })
      expect(await getA('/early')).toMatchObject({ status: 200, cacheStatus: 'HIT' })
      expect(await getB('/early')).toMatchObject({ status: 200, cacheStatus: 'MISS' }) // no shared store yet
      const server = await startRedis({ port })
      try {
        expect(await a.runtime.redis!.whenAvailable(5_000)).toBe(true)
        expect(await b.runtime.redis!.whenAvailable(5_000)).toBe(true)
        fleet.origin.on('/later', { headers: { 'cache-control': 'max-age=60' }, body: 'l' })
        expect(await getA('/later')).toMatchObject({ cacheStatus: 'MISS' })
        expect(await getB('/later')).toMatchObject({ cacheStatus: 'HIT' })
      } finally {
        await a.close()
        await b.close()
        await server.stop()
      }
    } finally {
      await a.close()
      await b.close()
    }
  })
})
