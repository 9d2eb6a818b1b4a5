/**
 * Several gateways in this process that share one private Redis: each has its own runtime, its
 * own Redis connections and its own L1, as separate instances would. Process-level tests (real
 * corral processes) live in fleet-processes.test.ts.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, afterEach, beforeAll, vi } from 'vitest'
import type { Gateway } from '../../src/gateway.js'
import { client, startTestGateway, testConfig, type Get } from './gateway.js'
import { Origin } from './origin.js'
import { startRedis, startRedisCluster, type RedisClusterServers, type RedisServer } from './redis.js'

/** The Host every fleet client sends. */
export const FLEET_HOST = 'fleet.test'

export interface Fleet {
  readonly origin: Origin
  /** The single server (not with `cluster: true`). */
  readonly redis: RedisServer
  readonly gateways: readonly Gateway[]
  /** One client per gateway. */
  readonly gets: readonly Get[]
  /** Requests waiting on someone else's fetch, over every gateway. */
  waiting(): number
  /** The key prefix the gateways share. */
  readonly prefix: string
}

/**
 * `size` gateways in front of one origin, sharing one redis-server started for the file.
 * `extra(originUrl)` adds to every gateway's config.
 */
export function useFleet(
  size: number,
  extra: (originUrl: string) => Record<string, unknown> = () => ({}),
  options: { cluster?: boolean } = {},
): Fleet {
  let origin: Origin | undefined
  let redis: RedisServer | undefined
  let cluster: RedisClusterServers | undefined
  const gateways: Gateway[] = []
  const gets: Get[] = []
  const prefix = `fleet${randomBytes(3).toString('hex')}`
  beforeAll(async () => {
    let where: Record<string, unknown>
    if (options.cluster === true) {
      cluster = await startRedisCluster(3)
      where = { cluster: cluster.nodes.map((n) => `redis://${n.host}:${n.port}`) }
    } else {
      redis = await startRedis()
      where = { url: redis.url }
    }
    origin = await Origin.start()
    for (let i = 0; i < size; i++) {
      const more = extra(origin.url)
      const store = { ...((more.store as Record<string, unknown> | undefined) ?? {}), redis: { ...where, prefix } }
      const gateway = await startTestGateway(testConfig(origin.url, { ...more, store }))
      gateways.push(gateway)
      // Behind a load balancer every instance sees the same Host: so must these, to share keys.
      const get = client(gateway.urls[0]!)
      gets.push((path, init = {}) => get(path, { ...init, headers: { host: FLEET_HOST, ...init.headers } }))
    }
    for (const gateway of gateways) {
      if (!(await gateway.runtime.redis!.whenAvailable(5_000))) throw new Error('a gateway did not connect to redis')
    }
    // Every member listens on the bus before the first test stores anything.
    await new Promise((r) => setTimeout(r, 50))
  })
  afterAll(async () => {
    for (const gateway of gateways) await gateway.close()
    await origin?.close()
    await redis?.stop()
    await cluster?.stop()
  })
  afterEach(() => {
    vi.useRealTimers()
    origin?.reset()
  })
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useFleet: used before its beforeAll ran')
    return value
  }
  return {
    get origin() {
      return started(origin)
    },
    get redis() {
      return started(redis)
    },
    gateways,
    gets,
    waiting: () => gateways.reduce((n, g) => n + g.runtime.coalescer.stats().waiting + g.runtime.coalescer.stats().waitingOnFleet, 0),
    prefix,
  }
}

/** Polls until the condition holds (the test's own timeout bounds it). */
export async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((r) => setTimeout(r, 5))
}
