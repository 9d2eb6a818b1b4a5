/** Start a real gateway on loopback for a test, and a small client that reports what came back. */
import { afterAll, afterEach, beforeAll, vi } from 'vitest'
import { request } from 'undici'
import { pino } from 'pino'
import { compileConfig } from '../../src/config/index.js'
import type { Config } from '../../src/config/types.js'
import { startGateway, type Gateway } from '../../src/gateway.js'
import { Origin } from './origin.js'

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
      admin: { port: 0 },
      ...extra,
    },
    'test',
  )
}

export async function startTestGateway(config: Config): Promise<Gateway> {
  return startGateway(config, { logger: pino({ level: 'silent' }) })
}

export function client(base: string) {
  return async function get(
    path: string,
    init: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal } = {},
  ): Promise<Got> {
    const res = await request(base + path, {
      method: (init.method ?? 'GET') as 'GET',
      headers: init.headers,
      body: init.body,
      signal: init.signal,
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

export type Get = (
  path: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<Got>

export interface TestBed {
  readonly origin: Origin
  readonly gateway: Gateway
  readonly get: Get
}

/**
 * One origin and one gateway in front of it for a test file: started before its tests, closed
 * after them; between tests the origin forgets its handlers and counts and the clock is real again.
 * `extra(originUrl)` adds to the test config (routes, limits…).
 */
export function useGateway(extra: (originUrl: string) => Record<string, unknown> = () => ({})): TestBed {
  let origin: Origin | undefined
  let gateway: Gateway | undefined
  let get: Get | undefined
  beforeAll(async () => {
    origin = await Origin.start()
    gateway = await startTestGateway(testConfig(origin.url, extra(origin.url)))
    get = client(gateway.urls[0]!)
  })
  afterAll(async () => {
    await gateway?.close()
    await origin?.close()
  })
  afterEach(() => {
    vi.useRealTimers()
    origin?.reset()
  })
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useGateway: used before its beforeAll ran')
    return value
  }
  return {
    get origin() {
      return started(origin)
    },
    get gateway() {
      return started(gateway)
    },
    get: (path, init) => started(get)(path, init),
  }
}

/** Move the faked Date forward (tests fake only Date: vi.useFakeTimers({ toFake: ['Date'] })). */
export function later(ms: number): void {
  vi.setSystemTime(Date.now() + ms)
}
