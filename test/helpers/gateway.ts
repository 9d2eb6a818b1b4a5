/** Start a real gateway on loopback for a test, and a small client that reports what came back. */
import { request } from 'undici'
import { pino } from 'pino'
import { compileConfig } from '../../src/config/index.js'
import type { Config } from '../../src/config/types.js'
import { startGateway, type Gateway } from '../../src/gateway.js'

export interface Got {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  cacheStatus: string | undefined
  cacheStatusHeader: string | undefined
  age: number | undefined
}

export function testConfig(upstream: string, extra: Record<string, unknown> = {}): Config {
  return compileConfig(
    {
      listeners: [{ host: '127.0.0.1', port: 0 }],
      upstreams: { default: { url: upstream } },
      log: { level: 'silent' },
      ...extra,
    },
    'test',
  )
}

export async function startTestGateway(config: Config): Promise<Gateway> {
  return startGateway(config, { logger: pino({ level: 'silent' }) })
}

export function client(base: string) {
  return async function get(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Got> {
    const res = await request(base + path, {
      method: (init.method ?? 'GET') as 'GET',
      headers: init.headers,
      body: init.body,
    })
    const body = await res.body.text()
    const h = res.headers
    const xcs = h['x-cache-status']
    const cs = h['cache-status']
    const age = h.age
    return {
      status: res.statusCode,
      headers: h,
      body,
      cacheStatus: typeof xcs === 'string' ? xcs : undefined,
      cacheStatusHeader: typeof cs === 'string' ? cs : undefined,
      age: typeof age === 'string' ? Number(age) : undefined,
    }
  }
}
