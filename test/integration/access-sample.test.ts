/**
 * log.accessSample: a share of requests gets an access line; 5xx answers always do. Real
 * gateway, real origin, the access lines as pino writes them.
 */
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Gateway } from '../../src/gateway.js'
import { startGateway } from '../../src/gateway.js'
import { client, testConfig, type Get } from '../helpers/gateway.js'
import { Origin } from '../helpers/origin.js'

const REQUESTS = 400

describe('log.accessSample', () => {
  let origin: Origin
  let gateway: Gateway
  let get: Get
  const lines: Array<{ msg?: string; status?: number; path?: string }> = []

  beforeAll(async () => {
    origin = await Origin.start()
    origin.on('/ok', { headers: { 'cache-control': 'max-age=300' }, body: 'ok' })
    origin.on('/broken', { status: 503, headers: { 'cache-control': 'no-store' }, body: 'down' })
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as (typeof lines)[number])
        done()
      },
    })
    const config = testConfig(origin.url, { log: { level: 'info', accessSample: '10%' } })
    gateway = await startGateway(config, { logger: pino({ level: 'info' }, sink) })
    get = client(gateway.urls[0]!)
  })
  afterAll(async () => {
    await gateway?.close()
    await origin?.close()
  })

  it('logs about that share of the requests, and every 5xx', async () => {
    for (let i = 0; i < REQUESTS; i++) await get('/ok')
    for (let i = 0; i < 20; i++) await get('/broken')
    await new Promise((resolve) => setTimeout(resolve, 50))
    const access = lines.filter((l) => l.msg === 'request')
    const ok = access.filter((l) => l.path === '/ok').length
    // 10% of 400: 40 expected; the binomial's 1-in-a-million bounds are about 15 and 72.
    expect(ok).toBeGreaterThan(12)
    expect(ok).toBeLessThan(80)
    expect(access.filter((l) => l.path === '/broken')).toHaveLength(20)
    // Metrics still count every request.
    const metrics = await gateway.runtime.metrics.render()
    expect(metrics).toMatch(/corral_requests_total\{route="default",cache_status="HIT"\} 399/)
  })
})
