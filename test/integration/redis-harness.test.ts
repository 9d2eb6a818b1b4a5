/**
 * Proves the private Redis harness against real servers: a single server that survives
 * kill/restart on the same port, and a three-master cluster an ioredis Cluster client can use.
 */
import { Cluster, Redis } from 'ioredis'
import { expect, it, onTestFinished } from 'vitest'
import { describeRedis, startRedis, startRedisCluster } from '../helpers/redis.js'

const SLOW = 30_000

/** A client that gives up at once instead of reconnecting, so a dead server fails fast. */
function connectOnce(url: string): Redis {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  client.on('error', () => {
    // the test asserts on the rejected promises; keep ioredis from logging unhandled errors
  })
  onTestFinished(() => client.disconnect())
  return client
}

describeRedis('redis test harness', () => {
  it(
    'starts a server that can be killed and restarted on the same port',
    async () => {
      const server = await startRedis()
      onTestFinished(() => server.stop())
      expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
      expect(server.pid).toBeTypeOf('number')

      const first = connectOnce(server.url)
      await first.connect()
      await first.set('harness:key', 'value')
      expect(await first.get('harness:key')).toBe('value')
      await first.quit()

      await server.kill()
      const refused = connectOnce(server.url)
      await expect(refused.connect()).rejects.toThrow()

      await server.restart()
      const second = connectOnce(server.url)
      await second.connect()
      expect(await second.ping()).toBe('PONG')
      // no persistence: the restarted server starts empty
      expect(await second.get('harness:key')).toBeNull()
      await second.quit()

      await server.stop()
      await server.stop()
    },
    SLOW,
  )

  it(
    'starts a three-master cluster an ioredis Cluster client can use',
    async () => {
      const servers = await startRedisCluster(3)
      onTestFinished(() => servers.stop())
      expect(servers.nodes).toHaveLength(3)

      const cluster = new Cluster(servers.nodes, { redisOptions: { connectTimeout: 5_000 } })
      onTestFinished(() => cluster.disconnect())

      // the hash tags put these keys in different slots, so on different masters
      for (const key of ['{a}x', '{b}x', '{c}x']) await cluster.set(key, `value of ${key}`)
      for (const key of ['{a}x', '{b}x', '{c}x']) expect(await cluster.get(key)).toBe(`value of ${key}`)
      expect(cluster.nodes('master')).toHaveLength(3)

      await cluster.quit()
      await servers.stop()
    },
    SLOW,
  )
})
