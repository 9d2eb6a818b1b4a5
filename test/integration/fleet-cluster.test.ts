/**
 * Fleet mode on a Redis Cluster (three masters started by the test): an entry's keys share one
 * hash tag, so every script touches one slot; flights are woken over sharded pub/sub.
 */
import { Cluster } from 'ioredis'
import { expect, it } from 'vitest'
import type { Got } from '../helpers/gateway.js'
import { until, useFleet } from '../helpers/fleet-gateways.js'
import { describeRedis } from '../helpers/redis.js'

const fleet = useFleet(3, () => ({ upstreams: { default: { url: fleet.origin.url, connections: 256 } } }), { cluster: true })

function spread(n: number, path: string, headers?: (i: number) => Record<string, string>): Promise<Got[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => fleet.gets[i % fleet.gets.length]!(path, { headers: headers?.(i) })))
}

describeRedis('fleet mode on a 3-master Redis Cluster', () => {
  it('talks to the cluster as a cluster, over sharded pub/sub', () => {
    const redis = fleet.gateways[0]!.runtime.redis!
    expect(redis.client).toBeInstanceOf(Cluster)
    expect(redis.publishCommand).toBe('SPUBLISH')
  })

  it('the stampede: 90 requests for one cold key over three instances, one origin fetch', async () => {
    for (const key of ['/a', '/b', '/c', '/d']) {
      // Several keys, so that several slots (and masters) take part.
      fleet.origin.on(key, { headers: { 'cache-control': 'max-age=60' }, body: `body of ${key}` })
      const open = fleet.origin.closeGate()
      const responses = spread(90, key)
      await until(() => fleet.origin.held === 1 && fleet.waiting() === 89)
      open()
      const all = await responses
      expect(all.every((r) => r.status === 200 && r.body === `body of ${key}`)).toBe(true)
      expect(all.filter((r) => r.cacheStatusHeader?.includes('collapsed'))).toHaveLength(89)
      expect(fleet.origin.hitsOn(key)).toBe(1)
    }
    // The four keys landed on more than one master.
    const masters = (fleet.gateways[0]!.runtime.redis!.client as Cluster).nodes('master')
    const sizes = await Promise.all(masters.map((m) => m.dbsize()))
    expect(sizes.filter((n) => n > 0).length).toBeGreaterThan(1)
  })

  it('shared store and variants: an entry and its vary index go into one slot together', async () => {
    fleet.origin.on('/v', (r) => ({ headers: { 'cache-control': 'max-age=60', vary: 'accept-language' }, body: `in ${String(r.headers['accept-language'])}` }))
    const langs = (i: number) => ({ 'accept-language': ['fr', 'de'][i % 2]! })
    await spread(2, '/v', langs)
    const again = await spread(6, '/v', (i) => langs(i + 1))
    expect(again.every((r) => r.cacheStatus === 'HIT' && r.body === `in ${langs(again.indexOf(r) + 1)['accept-language']}`)).toBe(true)
    expect(fleet.origin.hitsOn('/v')).toBe(2)
  })

  it('an entry replaced on one instance is no longer served by another within 100 ms', async () => {
    const [a, b] = fleet.gets
    fleet.origin.on('/coherent', (_r, n) => ({ headers: { 'cache-control': 'max-age=60' }, body: `v${n}` }))
    await a!('/coherent')
    expect(await b!('/coherent')).toMatchObject({ cacheStatus: 'HIT', body: 'v1' })
    await a!('/coherent', { headers: { 'cache-control': 'no-cache' } })
    const started = Date.now()
    await until(async () => (await b!('/coherent')).body === 'v2')
    expect(Date.now() - started).toBeLessThan(100)
  })
})
