/** Fleet-mode parts for tests: a RedisConnection to a private server, with a random prefix. */
import { randomBytes } from 'node:crypto'
import { pino } from 'pino'
import type { RedisStoreConfig } from '../../src/config/types.js'
import { GatewayLog } from '../../src/log.js'
import { RedisConnection } from '../../src/redis/client.js'

export const silentLog = (): GatewayLog => new GatewayLog(pino({ level: 'silent' }), false)

export function redisConfig(url: string, over: Partial<RedisStoreConfig> = {}): RedisStoreConfig {
  return {
    url,
    cluster: undefined,
    prefix: `t${randomBytes(4).toString('hex')}`,
    commandTimeoutMs: 1_000,
    connectTimeoutMs: 2_000,
    compressAboveBytes: 0,
    l1: true,
    breakerFailures: 3,
    breakerCooldownMs: 500,
    ...over,
  }
}

/** A connection that is ready to use (the test fails if Redis does not answer within 5 s). */
export async function connect(config: RedisStoreConfig): Promise<RedisConnection> {
  const redis = new RedisConnection(config, silentLog())
  if (!(await redis.whenAvailable(5_000))) throw new Error(`redis at ${config.url ?? config.cluster?.join(',')} did not become available`)
  return redis
}
