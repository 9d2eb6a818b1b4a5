/**
 * The start-up warm-up (src/warmup.ts): a gateway runs requests through the real request flow
 * before it listens, and none of it reaches the user — not their origin, cache, metrics or log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { startGateway, type Gateway } from '../../src/gateway.js'
import { warmUp, type WarmUpResult } from '../../src/warmup.js'
import { MemoryStore } from '../../src/store/memory.js'
import { client, testConfig } from '../helpers/gateway.js'
import { Origin } from '../helpers/origin.js'

describe('warm-up before listening', () => {
  let origin: Origin
  let gateway: Gateway
  let store: MemoryStore
  const logLines: string[] = []
  let warmed: WarmUpResult | undefined

  beforeAll(async () => {
    origin = await Origin.start()
    origin.otherwise(() => ({ headers: { 'cache-control': 'max-age=60' }, body: 'from the user origin' }))
    const config = testConfig(origin.url, { log: { level: 'info' } })
    store = new MemoryStore(config.store.memory)
    const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) })
    // What the gateway's start would run first (once per process), run here to see what it did.
    warmed = await warmUp()
    gateway = await startGateway(config, { logger, store })
  })

  afterAll(async () => {
    await gateway?.close()
    await origin?.close()
  })

  it('gets an answer to each of its requests (hits, misses, revalidations, hit-for-miss, POST)', () => {
    if (process.env.CORRAL_WARMUP === '0') return expect(warmed).toBeUndefined()
    expect(warmed?.sent).toBeGreaterThan(0)
    expect(warmed?.answered).toBe(warmed?.sent)
  })

  it('leaves nothing behind: no origin request, no entry, no metric, no log line of its own', async () => {
    expect(origin.hits).toBe(0)
    expect(store.statsSync().entries).toBe(0)
    const metrics = await gateway.runtime.metrics.registry.metrics()
    expect(metrics).not.toMatch(/^corral_requests_total\{/m)
    expect(logLines.join('')).not.toMatch(/warm|"path":"\/fresh\/hot"/)
    expect(gateway.runtime.counters.originFetches).toBe(0)
  })

  it('the paths the warm-up used are the user origin\'s: a first request is a MISS that reaches it', async () => {
    const get = client(gateway.urls[0]!)
    const first = await get('/fresh/hot')
    expect(first).toMatchObject({ status: 200, cacheStatus: 'MISS', body: 'from the user origin' })
    expect(await get('/fresh/hot')).toMatchObject({ cacheStatus: 'HIT', body: 'from the user origin' })
    expect(origin.hitsOn('/fresh/hot')).toBe(1)
  })

  it('runs once per process', async () => {
    expect(await warmUp()).toBeUndefined()
  })
})
