import { mkdtempSync, writeFileSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { UNKEYED_OVERRIDES } from '../../src/policy/unkeyed.js'
import {
  ConfigError,
  compileConfig,
  describeConfig,
  loadConfigFile,
  quickConfig,
  type Overrides,
} from '../../src/config/index.js'
import type { Config } from '../../src/config/types.js'
import { GatewayError } from '../../src/errors.js'

const API = { api: { url: 'http://127.0.0.1:3000' } }

/** The issues of the ConfigError that compiling `raw` throws (fails the test if it compiles). */
function issuesOf(raw: unknown, overrides?: Overrides): readonly string[] {
  try {
    compileConfig(raw, 'test.yaml', overrides)
  } catch (err) {
    if (err instanceof ConfigError) return err.issues
    throw err
  }
  throw new Error('expected a ConfigError')
}

function onlyRoute(config: Config) {
  expect(config.routes).toHaveLength(1)
  return config.routes[0]!
}

describe('compileConfig: defaults', () => {
  const config = compileConfig({ upstreams: API }, 'test.yaml')

  it('fills every section with its defaults', () => {
    expect(config.source).toBe('test.yaml')
    expect(config.listeners).toEqual([{ host: '0.0.0.0', port: 8080 }])
    expect(config.server).toEqual({
      maxHeaderBytes: 16_384,
      maxBodyBytes: 10_485_760,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 5_000,
      drainTimeoutMs: 10_000,
      workers: 1,
    })
    expect(config.store).toEqual({ memory: { maxBytes: 268_435_456, maxObjectBytes: 8_388_608 }, redis: undefined })
    expect(config.coalesce).toEqual({ lock: 'distributed', leaseMs: 5_000, waitTimeoutMs: 10_000, onTimeout: 'stale', hitForMissMs: 30_000 })
    expect(config.log).toEqual({ level: 'info', format: 'auto', access: true, accessSample: 1 })
  })

  it('compiles an upstream: origin, basePath, timeouts, pool', () => {
    const upstream = config.upstreams.get('api')!
    expect(upstream).toMatchObject({
      name: 'api',
      origin: 'http://127.0.0.1:3000',
      basePath: '',
      connectTimeoutMs: 5_000,
      headersTimeoutMs: 30_000,
      bodyTimeoutMs: 30_000,
      connections: 128,
    })
    expect(upstream.url.href).toBe('http://127.0.0.1:3000/')
  })

  it('without routes: one catch-all route named "default" to the only upstream, caching with defaults', () => {
    const route = onlyRoute(config)
    expect(route.name).toBe('default')
    expect(route.index).toBe(0)
    expect(route.upstream).toBe(config.upstreams.get('api'))
    expect(route.match.hosts).toBeUndefined()
    expect(route.match.methods).toBeUndefined()
    expect(route.match.path).toMatchObject({ kind: 'any', source: '*' })
    expect(route.match.path.test('/anything/at/all')).toBe(true)
    expect(route.cache).toEqual({
      defaultTtlMs: undefined,
      statusTtlMs: new Map(),
      originCacheControl: 'honor',
      staleWhileRevalidateMs: 0,
      staleIfErrorMs: 0,
      retainStaleMs: 600_000,
      staleIfDisconnectedMs: 300_000,
      jitter: 0,
      tags: { headers: ['surrogate-key', 'cache-tag'], expose: false },
      maxObjectBytes: 8_388_608,
      key: { query: { mode: 'all' }, headers: [], cookies: [] },
      bypass: [],
      heuristicFraction: 0,
      setCookie: 'refuse',
      targetedFields: ['cdn-cache-control'],
      rangeOnMiss: 'fetch',
      clientCacheControl: undefined,
      coalesce: { lock: 'distributed', leaseMs: 5_000, waitTimeoutMs: 10_000, onTimeout: 'stale' },
      earlyRefresh: 0,
      notForwarded: new Set(UNKEYED_OVERRIDES),
    })
  })

  it.each([
    ['http://api.internal', 'http://api.internal', ''],
    ['http://api.internal/', 'http://api.internal', ''],
    ['https://api.internal:8443/v1', 'https://api.internal:8443', '/v1'],
    ['https://api.internal:443/v1/', 'https://api.internal', '/v1'],
    ['http://10.0.0.1:80/a/b//', 'http://10.0.0.1', '/a/b'],
  ])('upstream url %s → origin %s, basePath %j', (url, origin, basePath) => {
    const compiled = compileConfig({ upstreams: { api: { url } } }, 'test.yaml').upstreams.get('api')!
    expect(compiled.origin).toBe(origin)
    expect(compiled.basePath).toBe(basePath)
  })
})

describe('compileConfig: a full route', () => {
  const config = compileConfig(
    {
      listeners: [{ host: '127.0.0.1', port: 0 }, { port: 8081 }],
      server: { maxHeaderSize: '32KiB', maxBodySize: 1000, requestTimeout: '2m', keepAliveTimeout: '1s', drainTimeout: 0, workers: 3 },
      upstreams: {
        api: { url: 'http://127.0.0.1:3000', connectTimeout: '1s', headersTimeout: '2s', bodyTimeout: '3s', connections: 4 },
        static: { url: 'http://127.0.0.1:3001' },
      },
      store: {
        memory: { maxSize: '64MiB', maxObjectSize: '2MiB' },
        redis: { url: 'redis://:secret@10.0.0.5:6380/2', prefix: 'shop', timeout: '100ms', compressAbove: '1MiB' },
      },
      coalesce: { lock: 'local', lease: '2s', waitTimeout: '5s', onTimeout: 'error', hitForMiss: '1m' },
      log: { level: 'debug', format: 'json', access: false },
      routes: [
        {
          name: 'products',
          match: { host: ['API.example.com', '*.Example.com'], path: '/api/products', methods: ['get', 'HEAD'] },
          upstream: 'api',
          cache: {
            ttl: '5m',
            statusTtl: { 200: '10m', 404: '1m', '5XX': 0 },
            originCacheControl: 'override',
            staleWhileRevalidate: '30s',
            staleIfError: '10m',
            retainStale: '1h',
            jitter: '10%',
            maxObjectSize: '1MiB',
            key: { query: { only: ['page', 'sort'] }, headers: ['Accept-Language'], cookies: ['currency'] },
            bypass: [{ header: 'X-No-Cache' }, { cookie: 'admin', equals: 'true' }, { query: 'nocache', equals: 1 }],
            coalesce: { lock: 'distributed', waitTimeout: '1s' },
            earlyRefresh: '10%',
          },
        },
        { match: { host: 'static.example.com' }, upstream: 'static', cache: { jitter: 0.25, key: { query: 'none' } } },
        { name: 'admin', match: { path: '/admin' }, upstream: 'api', cache: false },
        { name: 'rest', upstream: 'api', cache: true },
      ],
    },
    'full.yaml',
  )

  it('compiles the top-level sections', () => {
    expect(config.listeners).toEqual([
      { host: '127.0.0.1', port: 0 },
      { host: '0.0.0.0', port: 8081 },
    ])
    expect(config.server).toEqual({
      maxHeaderBytes: 32_768,
      maxBodyBytes: 1000,
      requestTimeoutMs: 120_000,
      keepAliveTimeoutMs: 1_000,
      drainTimeoutMs: 0,
      workers: 3,
    })
    expect(config.upstreams.get('api')).toMatchObject({ connectTimeoutMs: 1_000, headersTimeoutMs: 2_000, bodyTimeoutMs: 3_000, connections: 4 })
    expect(config.store).toEqual({
      memory: { maxBytes: 67_108_864, maxObjectBytes: 2_097_152 },
      redis: {
        url: 'redis://:secret@10.0.0.5:6380/2',
        cluster: undefined,
        prefix: 'shop',
        commandTimeoutMs: 100,
        connectTimeoutMs: 2_000,
        compressAboveBytes: 1_048_576,
        l1: true,
        breakerFailures: 3,
        breakerCooldownMs: 1_000,
      },
    })
    expect(config.coalesce).toEqual({ lock: 'local', leaseMs: 2_000, waitTimeoutMs: 5_000, onTimeout: 'error', hitForMissMs: 60_000 })
    expect(config.log).toEqual({ level: 'debug', format: 'json', access: false, accessSample: 1 })
  })

  it('compiles match rules: lowercased hosts, uppercased methods', () => {
    const [products] = config.routes
    expect(products!.name).toBe('products')
    expect(products!.match.hosts).toEqual(['api.example.com', '*.example.com'])
    expect(products!.match.methods).toEqual(new Set(['GET', 'HEAD']))
    expect(products!.match.path).toMatchObject({ kind: 'prefix', source: '/api/products' })
    expect(config.routes[1]!.match.hosts).toEqual(['static.example.com'])
  })

  it('compiles cache settings to ms, bytes, a Map, Sets and rules', () => {
    expect(config.routes[0]!.cache).toEqual({
      defaultTtlMs: 300_000,
      statusTtlMs: new Map<number | string, number>([
        [200, 600_000],
        [404, 60_000],
        ['5xx', 0],
      ]),
      originCacheControl: 'override',
      staleWhileRevalidateMs: 30_000,
      staleIfErrorMs: 600_000,
      retainStaleMs: 3_600_000,
      staleIfDisconnectedMs: 300_000,
      jitter: 0.1,
      tags: { headers: ['surrogate-key', 'cache-tag'], expose: false },
      maxObjectBytes: 1_048_576,
      key: { query: { mode: 'only', names: new Set(['page', 'sort']) }, headers: ['accept-language'], cookies: ['currency'] },
      bypass: [
        { kind: 'header', name: 'x-no-cache', value: undefined },
        { kind: 'cookie', name: 'admin', value: 'true' },
        { kind: 'query', name: 'nocache', value: '1' },
      ],
      heuristicFraction: 0,
      setCookie: 'refuse',
      targetedFields: ['cdn-cache-control'],
      rangeOnMiss: 'fetch',
      clientCacheControl: undefined,
      coalesce: { lock: 'distributed', leaseMs: 2_000, waitTimeoutMs: 1_000, onTimeout: 'error' },
      earlyRefresh: 0.1,
      notForwarded: new Set(UNKEYED_OVERRIDES),
    })
  })

  it('a route without coalesce settings takes the top-level ones', () => {
    expect(config.routes[1]!.cache?.coalesce).toEqual({ lock: 'local', leaseMs: 2_000, waitTimeoutMs: 5_000, onTimeout: 'error' })
  })

  it('names unnamed routes route-<index>, and inherits the store object limit', () => {
    const route = config.routes[1]!
    expect(route.name).toBe('route-1')
    expect(route.index).toBe(1)
    expect(route.upstream.name).toBe('static')
    expect(route.cache).toMatchObject({ jitter: 0.25, maxObjectBytes: 2_097_152, key: { query: { mode: 'none' } } })
  })

  it('cache: false turns caching off; cache: true keeps every default', () => {
    expect(config.routes[2]!.cache).toBeUndefined()
    expect(config.routes[3]!.cache).toMatchObject({ defaultTtlMs: undefined, originCacheControl: 'honor', jitter: 0 })
  })

  it('is deeply frozen', () => {
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.listeners)).toBe(true)
    expect(Object.isFrozen(config.listeners[0])).toBe(true)
    expect(Object.isFrozen(config.server)).toBe(true)
    expect(Object.isFrozen(config.upstreams.get('api'))).toBe(true)
    expect(Object.isFrozen(config.routes)).toBe(true)
    const route = config.routes[0]!
    expect(Object.isFrozen(route)).toBe(true)
    expect(Object.isFrozen(route.match)).toBe(true)
    expect(Object.isFrozen(route.match.hosts)).toBe(true)
    expect(Object.isFrozen(route.match.path)).toBe(true)
    expect(Object.isFrozen(route.cache)).toBe(true)
    expect(Object.isFrozen(route.cache!.key)).toBe(true)
    expect(Object.isFrozen(route.cache!.key.headers)).toBe(true)
    expect(Object.isFrozen(route.cache!.bypass[0])).toBe(true)
    expect(config.upstreams).toBeInstanceOf(Map)
    expect(route.cache!.statusTtlMs).toBeInstanceOf(Map)
  })
})

describe('path matchers', () => {
  function matcher(match: Record<string, unknown>) {
    return onlyRoute(compileConfig({ upstreams: API, routes: [{ match }] }, 'test.yaml')).match.path
  }

  it.each([
    // prefix: a plain string prefix, like nginx `location /api`
    [{ path: '/api' }, '/api', true],
    [{ path: '/api' }, '/api/x', true],
    [{ path: '/api' }, '/apix', true],
    [{ path: '/api' }, '/ap', false],
    [{ path: '/api' }, '/v1/api', false],
    [{ path: '/api/' }, '/api', false],
    [{ path: '/api/' }, '/api/x', true],
    // glob: anchored, * = one segment's characters, ** = anything
    [{ glob: '/api/*/items' }, '/api/42/items', true],
    [{ glob: '/api/*/items' }, '/api//items', true],
    [{ glob: '/api/*/items' }, '/api/4/2/items', false],
    [{ glob: '/api/*/items' }, '/api/42/items/7', false],
    [{ glob: '/api/*/items' }, '/x/api/42/items', false],
    [{ glob: '/assets/**' }, '/assets/css/app.css', true],
    [{ glob: '/assets/**' }, '/assets/', true],
    [{ glob: '/assets/**' }, '/assets', false],
    [{ glob: '/*.json' }, '/data.json', true],
    [{ glob: '/*.json' }, '/dataxjson', false],
    [{ glob: '/a+b(c)' }, '/a+b(c)', true],
    [{ glob: '/a+b(c)' }, '/aab', false],
    // regex: unanchored unless anchored by the user
    [{ regex: '^/v[0-9]+/' }, '/v2/users', true],
    [{ regex: '^/v[0-9]+/' }, '/api/v2/users', false],
    [{ regex: '/v[0-9]+/' }, '/api/v2/users', true],
    [{ regex: '\\.json$' }, '/a/b.json', true],
    [{}, '/', true],
  ])('%j tests %s → %s', (match, path, expected) => {
    expect(matcher(match).test(path)).toBe(expected)
  })

  it.each([
    [{ path: '/api' }, 'prefix', '/api'],
    [{ glob: '/a/*' }, 'glob', '/a/*'],
    [{ regex: '^/v1' }, 'regex', '^/v1'],
    [{}, 'any', '*'],
  ])('%j → kind %s, source %s', (match, kind, source) => {
    expect(matcher(match)).toMatchObject({ kind, source })
  })
})

describe('compileConfig: issues', () => {
  it.each<[string, unknown, string[]]>([
    ['unknown top-level key', { upstreams: API, foo: 1 }, ['foo: unknown key']],
    [
      'unknown nested key',
      { upstreams: API, routes: [{}, { cache: { tll: '5m' } }] },
      ['routes[1].cache.tll: unknown key (did you mean "ttl"?)'],
    ],
    ['missing upstreams', {}, ['upstreams: required']],
    ['no upstreams', { upstreams: {} }, ['upstreams: expected at least one upstream']],
    ['not a mapping', [1, 2], ['(top level): expected a mapping']],
    ['bad duration', { upstreams: API, routes: [{}, {}, { cache: { ttl: '5 minutes' } }] }, ['routes[2].cache.ttl: expected a duration like "30s"']],
    ['plain number duration', { upstreams: API, coalesce: { waitTimeout: 10 } }, ['coalesce.waitTimeout: expected a duration like "30s"']],
    ['zero lease', { upstreams: API, coalesce: { lease: 0 } }, ['coalesce.lease: must be longer than 0']],
    ['unknown lock mode', { upstreams: API, coalesce: { lock: 'global' } }, ['coalesce.lock: expected one of distributed, local, off']],
    [
      'unknown route onTimeout',
      { upstreams: API, routes: [{ cache: { coalesce: { onTimeout: 'wait' } } }] },
      ['routes[0].cache.coalesce.onTimeout: expected one of stale, fetch, error'],
    ],
    ['bad earlyRefresh', { upstreams: API, routes: [{ cache: { earlyRefresh: '150%' } }] }, ['routes[0].cache.earlyRefresh: expected a percentage like "10%" or a fraction 0..1']],
    ['redis url not redis', { upstreams: API, store: { redis: { url: 'http://127.0.0.1:6379' } } }, ['store.redis.url: expected a redis:// or rediss:// URL']],
    ['redis url with a path', { upstreams: API, store: { redis: { url: 'redis://h:6379/cache' } } }, ['store.redis.url: the path may only name a database number, like redis://host:6379/0']],
    [
      'redis url and cluster',
      { upstreams: API, store: { redis: { url: 'redis://a:1', cluster: ['redis://b:2'] } } },
      ['store.redis: give exactly one of url (one server) or cluster (seed nodes of a Redis Cluster)'],
    ],
    [
      'redis without a location',
      { upstreams: API, store: { redis: { prefix: 'x' } } },
      ['store.redis: give exactly one of url (one server) or cluster (seed nodes of a Redis Cluster)'],
    ],
    ['bad redis cluster node', { upstreams: API, store: { redis: { cluster: ['redis://a:1', 'a:2'] } } }, ['store.redis.cluster[1]: expected a redis:// or rediss:// URL']],
    ['redis prefix with a colon', { upstreams: API, store: { redis: { url: 'redis://a', prefix: 'a:b' } } }, ['store.redis.prefix: use letters, digits, "_", "." and "-" (the format version and ":" are added)']],
    [
      'forwardHeaders naming a field corral forwards anyway',
      { upstreams: API, routes: [{ cache: { forwardHeaders: ['X-Forwarded-Prefix', 'accept'] } }] },
      ['routes[0].cache.forwardHeaders[1]: "accept" is forwarded anyway: only the fields corral drops can be allowed (docs/configuration.md, "Fields not forwarded")'],
    ],
    ['zero workers', { upstreams: API, server: { workers: 0 } }, ['server.workers: expected a number of processes 1..256, or auto (one per CPU core)']],
    ['workers words', { upstreams: API, server: { workers: 'many' } }, ['server.workers: expected a number of processes 1..256, or auto (one per CPU core)']],
    ['bad size', { upstreams: API, server: { maxBodySize: '10 megs' } }, ['server.maxBodySize: expected a size like "1MiB"']],
    ['zero store size', { upstreams: API, store: { memory: { maxSize: 0, maxObjectSize: 0 } } }, ['store.memory.maxSize: must be greater than 0']],
    ['bad url', { upstreams: { api: { url: 'localhost:3000' } } }, ['upstreams.api.url: expected an http:// or https:// URL']],
    ['ftp url', { upstreams: { api: { url: 'ftp://example.com' } } }, ['upstreams.api.url: expected an http:// or https:// URL']],
    ['url not a string', { upstreams: { api: { url: 3000 } } }, ['upstreams.api.url: expected an http:// or https:// URL']],
    ['missing url', { upstreams: { api: {} } }, ['upstreams.api.url: required']],
    ['url with query', { upstreams: { api: { url: 'http://a/?x=1' } } }, ['upstreams.api.url: must not have a query string']],
    ['url with fragment', { upstreams: { api: { url: 'http://a/#x' } } }, ['upstreams.api.url: must not have a fragment']],
    ['url with credentials', { upstreams: { api: { url: 'http://u:p@a/' } } }, ['upstreams.api.url: must not contain credentials']],
    [
      'bad upstream name',
      { upstreams: { 'my api': { url: 'http://a' } } },
      ['upstreams.my api: upstream names may use only letters, digits, "_" and "-"'],
    ],
    ['connections out of range', { upstreams: { api: { url: 'http://a', connections: 0 } } }, ['upstreams.api.connections: expected an integer 1..10000']],
    ['port out of range', { upstreams: API, listeners: [{ port: 65_536 }] }, ['listeners[0].port: expected a port number 0..65535']],
    ['port not a number', { upstreams: API, listeners: [{ port: 'http' }] }, ['listeners[0].port: expected a port number 0..65535']],
    ['no listeners', { upstreams: API, listeners: [] }, ['listeners: expected at least one listener']],
    ['bad log level', { upstreams: API, log: { level: 'loud' } }, ['log.level: expected one of fatal, error, warn, info, debug, trace, silent']],
    ['bad log access', { upstreams: API, log: { access: 'yes' } }, ['log.access: expected true or false']],
    ['section not a mapping', { upstreams: API, server: 'big' }, ['server: expected a mapping']],
    [
      'object limit above store size',
      { upstreams: API, store: { memory: { maxSize: '1MiB', maxObjectSize: '2MiB' } } },
      ['store.memory.maxObjectSize: must not be larger than store.memory.maxSize (1MiB)'],
    ],
    [
      'route object limit above the store one',
      { upstreams: API, routes: [{ cache: { maxObjectSize: '16MiB' } }] },
      ['routes[0].cache.maxObjectSize: must not be larger than store.memory.maxObjectSize (8MiB)'],
    ],
    [
      'unknown upstream',
      { upstreams: { api: { url: 'http://a' }, static: { url: 'http://b' } }, routes: [{ upstream: 'apx' }] },
      ['routes[0].upstream: unknown upstream "apx" (defined: api, static)'],
    ],
    [
      'route without upstream among several',
      { upstreams: { api: { url: 'http://a' }, static: { url: 'http://b' } }, routes: [{ upstream: 'api' }, {}] },
      ['routes[1].upstream: required when there are several upstreams (defined: api, static)'],
    ],
    [
      'several upstreams, no routes',
      { upstreams: { api: { url: 'http://a' }, static: { url: 'http://b' } } },
      ['routes: required when there are several upstreams'],
    ],
    [
      'empty routes',
      { upstreams: API, routes: [] },
      ['routes: expected at least one route (leave the key out for a single catch-all route)'],
    ],
    [
      'duplicate route names',
      { upstreams: API, routes: [{ name: 'a' }, { name: 'b' }, { name: 'a' }, { name: 'route-3' }] },
      ['routes[2].name: duplicate route name "a" (also routes[0])'],
    ],
    [
      'default name taken',
      { upstreams: API, routes: [{ name: 'route-1' }, {}] },
      ['routes[1].name: duplicate route name "route-1" (also routes[0])'],
    ],
    ['host with port', { upstreams: API, routes: [{ match: { host: 'api.example.com:8080' } }] }, ['routes[0].match.host: must not contain a port ("api.example.com:8080")']],
    [
      'host list with a bad entry',
      { upstreams: API, routes: [{ match: { host: ['a.com', 'a*b.com'] } }] },
      ['routes[0].match.host[1]: expected a host name like "api.example.com" or "*.example.com"'],
    ],
    ['host not a string', { upstreams: API, routes: [{ match: { host: 7 } }] }, ['routes[0].match.host: expected a host name or a list of them']],
    ['relative path', { upstreams: API, routes: [{ match: { path: 'api' } }] }, ["routes[0].match.path: must start with '/'"]],
    ['relative glob', { upstreams: API, routes: [{ match: { glob: '*.json' } }] }, ["routes[0].match.glob: must start with '/'"]],
    [
      'bad regex',
      { upstreams: API, routes: [{ match: { regex: '^/v[0-9' } }] },
      ['routes[0].match.regex: Invalid regular expression: /^/v[0-9/: Unterminated character class'],
    ],
    [
      'two path kinds',
      { upstreams: API, routes: [{ match: { path: '/a', glob: '/b/*' } }] },
      ['routes[0].match: use only one of path, glob and regex'],
    ],
    ['bad method', { upstreams: API, routes: [{ match: { methods: ['GET', 'NOT A METHOD'] } }] }, ['routes[0].match.methods[1]: expected an HTTP method like "GET"']],
    ['cache not boolean or mapping', { upstreams: API, routes: [{ cache: 'yes' }] }, ['routes[0].cache: expected true, false or a mapping']],
    ['empty cache key', { upstreams: API, routes: [{ cache: null }] }, ['routes[0].cache: expected true, false or a mapping']],
    [
      'bad status key and value',
      { upstreams: API, routes: [{ cache: { statusTtl: { 600: '1m', '6xx': '1m', 200: 'long' } } }] },
      [
        'routes[0].cache.statusTtl.200: expected a duration like "30s"',
        'routes[0].cache.statusTtl.600: expected a status code 100..599 or a class like "5xx"',
        'routes[0].cache.statusTtl.6xx: expected a status code 100..599 or a class like "5xx"',
      ],
    ],
    ['bad origin mode', { upstreams: API, routes: [{ cache: { originCacheControl: 'ignore' } }] }, ['routes[0].cache.originCacheControl: expected one of honor, override']],
    ['jitter over 100%', { upstreams: API, routes: [{ cache: { jitter: '150%' } }] }, ['routes[0].cache.jitter: expected a percentage like "10%" or a fraction 0..1']],
    ['jitter over 1', { upstreams: API, routes: [{ cache: { jitter: 1.5 } }] }, ['routes[0].cache.jitter: expected a percentage like "10%" or a fraction 0..1']],
    [
      'bad query recipe',
      { upstreams: API, routes: [{ cache: { key: { query: 'some' } } }] },
      ['routes[0].cache.key.query: expected all, none, {only: [names]} or {ignore: [names]}'],
    ],
    ['query allow-list not a list', { upstreams: API, routes: [{ cache: { key: { query: { only: 'page' } } } }] }, ['routes[0].cache.key.query.only: expected a list']],
    ['key headers not a list', { upstreams: API, routes: [{ cache: { key: { headers: 'accept' } } }] }, ['routes[0].cache.key.headers: expected a list']],
    [
      'bypass rule with two conditions',
      { upstreams: API, routes: [{ cache: { bypass: [{ header: 'x' }, { header: 'x', cookie: 'y' }, { equals: '1' }] } }] },
      [
        'routes[0].cache.bypass[1]: expected exactly one of header, cookie or query',
        'routes[0].cache.bypass[2]: expected exactly one of header, cookie or query',
      ],
    ],
    ['bypass rule unknown key', { upstreams: API, routes: [{ cache: { bypass: [{ header: 'x', value: '1' }] } }] }, ['routes[0].cache.bypass[0].value: unknown key']],
  ])('%s', (_name, raw, expected) => {
    expect(issuesOf(raw)).toEqual(expected)
  })

  it('collects every issue at once: the schema and the cross-field rules', () => {
    const issues = issuesOf({
      foo: 1,
      upstreams: { api: { url: 'ftp://x' }, static: { url: 'http://s' } },
      routes: [
        { upstream: 'apx', cache: { ttl: 'soon', tll: 1 } },
        { name: 'route-0', upstream: 'static', match: { path: 'x' } },
      ],
    })
    expect(issues).toEqual([
      'upstreams.api.url: expected an http:// or https:// URL',
      'routes[0].cache.ttl: expected a duration like "30s"',
      'routes[0].cache.tll: unknown key (did you mean "ttl"?)',
      'routes[1].match.path: must start with \'/\'',
      'foo: unknown key',
      'routes[0].upstream: unknown upstream "apx" (defined: api, static)',
      'routes[1].name: duplicate route name "route-0" (also routes[0])',
    ])
  })

  it.each<[string, unknown, string]>([
    ['a swap', { upstreams: API, routes: [{}, { cache: { tll: '5m' } }] }, 'routes[1].cache.tll: unknown key (did you mean "ttl"?)'],
    ['a missing letter', { upstreams: { api: { url: 'http://a', conections: 3 } } }, 'upstreams.api.conections: unknown key (did you mean "connections"?)'],
    ['snake case', { upstreams: API, routes: [{ cache: { stale_while_revalidate: '5s' } }] }, 'routes[0].cache.stale_while_revalidate: unknown key (did you mean "staleWhileRevalidate"?)'],
    ['upper case', { upstreams: API, LOG: { level: 'info' } }, 'LOG: unknown key (did you mean "log"?)'],
    ['inside a union', { upstreams: API, routes: [{ cache: { key: { query: { onyl: ['a'] } } } }] }, 'routes[0].cache.key.query.onyl: unknown key (did you mean "only"?)'],
    ['in a list item', { upstreams: API, routes: [{ cache: { bypass: [{ hedaer: 'x' }] } }] }, 'routes[0].cache.bypass[0].hedaer: unknown key (did you mean "header"?)'],
    ['a route key', { upstreams: API, routes: [{ mach: { path: '/' } }] }, 'routes[0].mach: unknown key (did you mean "match"?)'],
    ['redis', { upstreams: API, store: { redis: { url: 'redis://r', prefx: 'a' } } }, 'store.redis.prefx: unknown key (did you mean "prefix"?)'],
  ])('suggests the key meant, when one is close: %s', (_what, raw, line) => {
    expect(issuesOf(raw)).toContain(line)
  })

  it.each<[string, unknown, string]>([
    ['nothing alike', { upstreams: API, foo: 1 }, 'foo: unknown key'],
    ['a short word two edits away', { upstreams: API, routes: [{ cache: { url: '5m' } }] }, 'routes[0].cache.url: unknown key'],
    ['a different word', { upstreams: API, routes: [{ cache: { expires: '5m' } }] }, 'routes[0].cache.expires: unknown key'],
  ])('suggests nothing when no key is close: %s', (_what, raw, line) => {
    expect(issuesOf(raw)).toContain(line)
  })

  it('throws a ConfigError: code, issues, message', () => {
    let error: unknown
    try {
      compileConfig({ foo: 1, upstreams: { api: { url: 'nope' } } }, 'corral.yaml')
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toBeInstanceOf(GatewayError)
    expect(error).toMatchObject({
      name: 'ConfigError',
      code: 'CORRAL_ERR_CONFIG_INVALID',
      source: 'corral.yaml',
      issues: ['upstreams.api.url: expected an http:// or https:// URL', 'foo: unknown key'],
      message: 'invalid configuration (corral.yaml):\nupstreams.api.url: expected an http:// or https:// URL\nfoo: unknown key',
    })
  })
})

describe('compileConfig: overrides', () => {
  const twoListeners = { upstreams: API, listeners: [{ host: '127.0.0.1', port: 9000 }, { port: 9001 }] }

  it('port and host replace the first listener', () => {
    const config = compileConfig(twoListeners, 'test.yaml', { port: 7000, host: '::' })
    expect(config.listeners).toEqual([
      { host: '::', port: 7000 },
      { host: '0.0.0.0', port: 9001 },
    ])
  })

  it('port alone keeps the host', () => {
    expect(compileConfig(twoListeners, 'test.yaml', { port: 0 }).listeners[0]).toEqual({ host: '127.0.0.1', port: 0 })
  })

  it('logLevel replaces log.level', () => {
    const config = compileConfig({ upstreams: API, log: { level: 'warn', format: 'json' } }, 'test.yaml', { logLevel: 'trace' })
    expect(config.log).toEqual({ level: 'trace', format: 'json', access: true, accessSample: 1 })
  })

  it('upstream replaces the only upstream', () => {
    const config = compileConfig({ upstreams: { api: { url: 'http://a:1', connections: 2 } } }, 'test.yaml', {
      upstream: 'https://b:2/v2/',
    })
    expect(config.upstreams.get('api')).toMatchObject({ origin: 'https://b:2', basePath: '/v2', connections: 2 })
    expect(config.routes[0]!.upstream.origin).toBe('https://b:2')
  })

  it('upstream replaces the one named "default" when there are several', () => {
    const config = compileConfig(
      { upstreams: { other: { url: 'http://a:1' }, default: { url: 'http://a:2' } }, routes: [{ upstream: 'default' }] },
      'test.yaml',
      { upstream: 'http://b:3' },
    )
    expect(config.upstreams.get('default')!.origin).toBe('http://b:3')
    expect(config.upstreams.get('other')!.origin).toBe('http://a:1')
  })

  it.each<[string, unknown, Overrides, string[]]>([
    [
      'several upstreams, none named default',
      { upstreams: { a: { url: 'http://a' }, b: { url: 'http://b' } }, routes: [{ upstream: 'a' }] },
      { upstream: 'http://c' },
      ['--upstream: the configuration has several upstreams (a, b) and none named "default"'],
    ],
    ['invalid upstream URL', { upstreams: API }, { upstream: 'c:80' }, ['--upstream: expected an http:// or https:// URL']],
    ['port out of range', { upstreams: API }, { port: 70_000 }, ['--port: expected a port number 0..65535']],
    ['fractional port', { upstreams: API }, { port: 80.5 }, ['--port: expected a port number 0..65535']],
    ['empty host', { upstreams: API }, { host: '' }, ['--host: must not be empty']],
    [
      'unknown log level',
      { upstreams: API },
      { logLevel: 'loud' as Overrides['logLevel'] },
      ['--log-level: expected one of fatal, error, warn, info, debug, trace, silent'],
    ],
    ['bad redis url', { upstreams: API }, { redis: 'localhost:6379' }, ['--redis: expected a redis:// or rediss:// URL']],
    ['bad workers', { upstreams: API }, { workers: '0' }, ['--workers: expected a number of processes 1..256, or auto (one per CPU core)']],
    [
      'reported with the file issues',
      { upstreams: API, foo: 1 },
      { port: -1 },
      ['foo: unknown key', '--port: expected a port number 0..65535'],
    ],
  ])('%s', (_name, raw, overrides, expected) => {
    expect(issuesOf(raw, overrides)).toEqual(expected)
  })
})

describe('compileConfig: fields not forwarded on cache fetches', () => {
  it('the built-in list, plus stripHeaders, less forwardHeaders and the key headers', () => {
    const config = compileConfig(
      { upstreams: API, routes: [{ cache: { forwardHeaders: ['X-Forwarded-Prefix'], stripHeaders: ['X-Tenant'], key: { headers: ['X-Original-URL'] } } }] },
      'test.yaml',
    )
    const dropped = onlyRoute(config).cache!.notForwarded
    expect(dropped.has('x-tenant')).toBe(true)
    expect(dropped.has('x-forwarded-prefix')).toBe(false)
    expect(dropped.has('x-original-url')).toBe(false)
    expect(dropped.has('x-http-method-override')).toBe(true)
    expect(describeConfig(config)).toContain('stripHeaders=x-tenant')
  })
})

describe('compileConfig: fleet overrides', () => {
  it('--redis turns on fleet mode with every Redis default', () => {
    const config = compileConfig({ upstreams: API }, 'test.yaml', { redis: 'redis://127.0.0.1:6379' })
    expect(config.store.redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      cluster: undefined,
      prefix: 'corral',
      commandTimeoutMs: 250,
      connectTimeoutMs: 2_000,
      compressAboveBytes: 65_536,
      l1: true,
      breakerFailures: 3,
      breakerCooldownMs: 1_000,
    })
  })

  it("--redis replaces the file's location (a cluster too) and keeps its other settings", () => {
    const config = compileConfig(
      { upstreams: API, store: { redis: { cluster: ['redis://a:7000'], prefix: 'shop', timeout: '50ms' } } },
      'test.yaml',
      { redis: 'rediss://b:6380' },
    )
    expect(config.store.redis).toMatchObject({ url: 'rediss://b:6380', cluster: undefined, prefix: 'shop', commandTimeoutMs: 50 })
  })

  it('--workers: a count or auto (one per core)', () => {
    expect(compileConfig({ upstreams: API }, 'test.yaml', { workers: '4' }).server.workers).toBe(4)
    expect(compileConfig({ upstreams: API }, 'test.yaml', { workers: 'auto' }).server.workers).toBe(availableParallelism())
  })

  it('describeConfig shows where Redis is without its password, and route coalescing that differs', () => {
    const config = compileConfig(
      {
        upstreams: API,
        store: { redis: { url: 'redis://user:secret@10.0.0.5:6380/1' } },
        routes: [{ name: 'slow', cache: { coalesce: { lock: 'local', waitTimeout: '30s' }, earlyRefresh: '5%' } }, { name: 'rest' }],
      },
      'test.yaml',
    )
    const text = describeConfig(config)
    expect(text).not.toContain('secret')
    expect(text).toContain('store: memory maxSize=256MiB maxObjectSize=8MiB; redis redis://user:***@10.0.0.5:6380/1 prefix=corral timeout=250ms compressAbove=64KiB')
    expect(text).toContain('coalesce=local(lease=5s,wait=30s,onTimeout=stale) earlyRefresh=5%')
    expect(text.split('\n').find((line) => line.includes('rest:'))).not.toContain('coalesce=')
  })
})

describe('quickConfig', () => {
  it('one upstream and one catch-all route, both named "default", caching with defaults', () => {
    const config = quickConfig({ upstream: 'http://127.0.0.1:3000/api', port: 0, host: '127.0.0.1', logLevel: 'warn' })
    expect(config.source).toBe('flags')
    expect(config.listeners).toEqual([{ host: '127.0.0.1', port: 0 }])
    expect(config.log.level).toBe('warn')
    expect([...config.upstreams.keys()]).toEqual(['default'])
    expect(config.upstreams.get('default')).toMatchObject({ origin: 'http://127.0.0.1:3000', basePath: '/api' })
    const route = onlyRoute(config)
    expect(route).toMatchObject({ name: 'default', index: 0, match: { hosts: undefined, methods: undefined } })
    expect(route.match.path.kind).toBe('any')
    expect(route.cache).toMatchObject({ defaultTtlMs: undefined, originCacheControl: 'honor' })
    expect(Object.isFrozen(config)).toBe(true)
  })

  it('defaults the listener to 0.0.0.0:8080', () => {
    expect(quickConfig({ upstream: 'http://localhost:3000' }).listeners).toEqual([{ host: '0.0.0.0', port: 8080 }])
  })

  it.each([['localhost:3000'], ['ftp://x'], ['not a url']])('rejects --upstream %j', (upstream) => {
    expect(() => quickConfig({ upstream })).toThrow(
      expect.objectContaining({
        code: 'CORRAL_ERR_CONFIG_INVALID',
        issues: ['--upstream: expected an http:// or https:// URL'],
        message: 'invalid configuration (flags):\n--upstream: expected an http:// or https:// URL',
      }),
    )
  })

  it('reports bad flags under their names', () => {
    expect(() => quickConfig({ upstream: 'http://a', port: -1 })).toThrow(
      expect.objectContaining({ issues: ['--port: expected a port number 0..65535'] }),
    )
  })
})

describe('compileConfig: HTTP semantics options', () => {
  const withCache = (cache: Record<string, unknown>): Config =>
    compileConfig({ upstreams: { api: { url: 'http://127.0.0.1:3000' } }, routes: [{ cache }] }, 'test')

  it('compiles heuristic, setCookie, targetedCacheControl and rangeOnMiss, and shows them when not default', () => {
    const config = withCache({ heuristic: '10%', setCookie: 'strip', targetedCacheControl: ['Corral-Cache-Control'], rangeOnMiss: 'pass' })
    expect(config.routes[0]!.cache).toMatchObject({
      heuristicFraction: 0.1,
      setCookie: 'strip',
      targetedFields: ['corral-cache-control'],
      rangeOnMiss: 'pass',
    })
    expect(describeConfig(config)).toContain('heuristic=10% setCookie=strip targeted=corral-cache-control rangeOnMiss=pass')
  })

  it('writes clientCacheControl as a header once, at start-up, and shows it', () => {
    const config = withCache({ clientCacheControl: { 'max-age': '1m', public: true, 'stale-while-revalidate': '30s', immutable: false } })
    expect(config.routes[0]!.cache?.clientCacheControl).toBe('public, max-age=60, stale-while-revalidate=30')
    expect(describeConfig(config)).toContain('clientCacheControl="public, max-age=60, stale-while-revalidate=30"')
  })

  it('accepts a per-client key with a private clientCacheControl', () => {
    const config = withCache({ key: { cookies: ['session'] }, clientCacheControl: { private: true, 'max-age': '1m' } })
    expect(config.routes[0]!.cache?.clientCacheControl).toBe('private, max-age=60')
  })

  it.each<[string, Record<string, unknown>, number, string | undefined]>([
    ['the default is 5m', {}, 300_000, undefined],
    ['the default shrinks to a shorter retainStale', { retainStale: '1m' }, 60_000, 'staleIfDisconnected=1m'],
    ['0 turns it off', { staleIfDisconnected: 0 }, 0, 'staleIfDisconnected=0'],
    ['as long as retainStale', { staleIfDisconnected: '1h', retainStale: '1h' }, 3_600_000, 'staleIfDisconnected=1h'],
  ])('staleIfDisconnected: %s, and shown when not 5m', (_name, cache, ms, shown) => {
    const config = withCache(cache)
    expect(config.routes[0]!.cache?.staleIfDisconnectedMs).toBe(ms)
    if (shown === undefined) expect(describeConfig(config)).not.toContain('staleIfDisconnected')
    else expect(describeConfig(config)).toContain(shown)
  })

  it('refuses a staleIfDisconnected longer than retainStale: the entry would be gone before the window ends', () => {
    expect(() => withCache({ staleIfDisconnected: '20m' })).toThrow(
      'routes[0].cache.staleIfDisconnected: must not be longer than retainStale (10m): stale entries are dropped then',
    )
  })

  it.each([
    [{ clientCacheControl: { 'max-age': '1500ms' } }, 'routes[0].cache.clientCacheControl.max-age: expected whole seconds'],
    [{ clientCacheControl: { 'max-age': 'soon' } }, 'routes[0].cache.clientCacheControl.max-age: expected a duration'],
    [{ clientCacheControl: { maxAge: 60 } }, 'routes[0].cache.clientCacheControl.maxAge: unknown key (did you mean "max-age"?)'],
    [{ clientCacheControl: { public: true, private: true } }, 'routes[0].cache.clientCacheControl: public and private contradict'],
    [{ clientCacheControl: { public: false } }, 'routes[0].cache.clientCacheControl: expected at least one directive'],
    [{ clientCacheControl: { 'no-store': 'yes' } }, 'routes[0].cache.clientCacheControl.no-store: expected true or false'],
    [
      { key: { cookies: ['session'] }, clientCacheControl: { public: true, 'max-age': '1m' } },
      'routes[0].cache.clientCacheControl: the key selects by headers or cookies that caches behind corral cannot see',
    ],
    [{ key: { headers: ['x-tenant'] }, clientCacheControl: { 'max-age': '1m' } }, 'routes[0].cache.clientCacheControl: the key selects by headers'],
  ])('rejects clientCacheControl %o naming the field', (cache, message) => {
    expect(() => withCache(cache)).toThrow(message)
  })

  it.each([
    [{ setCookie: 'keep' }, 'routes[0].cache.setCookie: '],
    [{ rangeOnMiss: 'always' }, 'routes[0].cache.rangeOnMiss: '],
    [{ heuristic: '150%' }, 'routes[0].cache.heuristic: '],
    [{ targetedCacheControl: 'cdn-cache-control' }, 'routes[0].cache.targetedCacheControl: '],
  ])('rejects %o at its path', (cache, path) => {
    expect(() => withCache(cache)).toThrow(path)
  })
})

describe('describeConfig', () => {
  it('summarizes every section and each route in order', () => {
    const config = compileConfig(
      {
        upstreams: { api: { url: 'http://127.0.0.1:3000' }, static: { url: 'http://127.0.0.1:3001/public', connections: 8 } },
        routes: [
          {
            name: 'products',
            match: { host: 'api.example.com', path: '/api/products', methods: ['GET', 'HEAD'] },
            upstream: 'api',
            cache: {
              ttl: '5m',
              statusTtl: { 200: '10m', '5xx': 0 },
              staleWhileRevalidate: '30s',
              staleIfError: '10m',
              jitter: '10%',
              maxObjectSize: '1MiB',
              key: { query: { ignore: ['utm_source'] }, headers: ['accept-language'], cookies: ['currency'] },
              bypass: [{ header: 'x-no-cache' }, { cookie: 'admin', equals: 'true' }],
            },
          },
          { name: 'admin', match: { path: '/admin' }, upstream: 'api', cache: false },
          { match: { glob: '/assets/**' }, upstream: 'static' },
        ],
      },
      'corral.yaml',
    )
    expect(describeConfig(config).split('\n')).toEqual([
      'source: corral.yaml',
      'listeners: 0.0.0.0:8080',
      'server: maxHeaderSize=16KiB maxBodySize=10MiB requestTimeout=1m keepAliveTimeout=5s drainTimeout=10s workers=1',
      'upstreams:',
      '  api: http://127.0.0.1:3000/ connectTimeout=5s headersTimeout=30s bodyTimeout=30s connections=128',
      '  static: http://127.0.0.1:3001/public connectTimeout=5s headersTimeout=30s bodyTimeout=30s connections=8',
      'store: memory maxSize=256MiB maxObjectSize=8MiB',
      'coalesce: lock=distributed lease=5s waitTimeout=10s onTimeout=stale hitForMiss=30s',
      'log: level=info format=auto access=on',
      'admin: 127.0.0.1:9090 token=none (purge, reload and explain refused)',
      'purge: tagHeaders=surrogate-key,cache-tag exposeTags=off method=off',
      'routes:',
      '  routes[0] products: host=api.example.com path=prefix /api/products methods=GET,HEAD → api; cache:' +
        ' ttl=5m status=200:10m,5xx:0 originCacheControl=honor swr=30s sie=10m retainStale=10m jitter=10%' +
        ' maxObjectSize=1MiB key=query:ignore(utm_source)+headers(accept-language)+cookies(currency)' +
        ' bypass=header:x-no-cache,cookie:admin=true',
      '  routes[1] admin: host=* path=prefix /admin methods=* → api; cache: off',
      '  routes[2] route-2: host=* path=glob /assets/** methods=* → static; cache:' +
        ' ttl=none originCacheControl=honor swr=0 sie=0 retainStale=10m jitter=0% maxObjectSize=8MiB key=query:all',
    ])
  })
})

describe('loadConfigFile', () => {
  let dir: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'corral-config-'))
  })

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  async function fileWith(name: string, text: string): Promise<string> {
    const path = join(dir, name)
    await writeFile(path, text)
    return path
  }

  async function loadError(path: string, overrides?: Overrides): Promise<ConfigError> {
    const error: unknown = await loadConfigFile(path, overrides).then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }

  it('loads a file and applies overrides', async () => {
    const path = await fileWith(
      'ok.yaml',
      ['upstreams:', '  api:', '    url: http://127.0.0.1:3000', 'routes:', '  - match: {path: /api}', '    cache: {ttl: 30s}', ''].join('\n'),
    )
    const config = await loadConfigFile(path, { port: 0 })
    expect(config.source).toBe(path)
    expect(config.listeners).toEqual([{ host: '0.0.0.0', port: 0 }])
    expect(config.routes[0]!.cache!.defaultTtlMs).toBe(30_000)
  })

  it('supports anchors and merge keys', async () => {
    const path = await fileWith(
      'merge.yaml',
      [
        'upstreams: {api: {url: "http://a"}}',
        'routes:',
        '  - match: {path: /a}',
        '    cache: &shared {ttl: 1m, staleIfError: 10m}',
        '  - match: {path: /b}',
        '    cache: {<<: *shared, ttl: 2m}',
        '',
      ].join('\n'),
    )
    const config = await loadConfigFile(path)
    expect(config.routes[1]!.cache).toMatchObject({ defaultTtlMs: 120_000, staleIfErrorMs: 600_000 })
  })

  it('names the YAML path of a schema issue, with the file as source', async () => {
    const path = await fileWith('bad-ttl.yaml', 'upstreams:\n  api: {url: "http://a"}\nroutes:\n  - cache: {ttl: 5}\n')
    const error = await loadError(path)
    expect(error.issues).toEqual(['routes[0].cache.ttl: expected a duration like "30s"'])
    expect(error.message).toBe(`invalid configuration (${path}):\nroutes[0].cache.ttl: expected a duration like "30s"`)
  })

  it('reports YAML syntax errors with file, line and column', async () => {
    const path = await fileWith('syntax.yaml', 'upstreams:\n  api: {url: http://a\nroutes: []\n')
    const error = await loadError(path)
    expect(error.code).toBe('CORRAL_ERR_CONFIG_INVALID')
    expect(error.issues).toEqual([`${path}:3:1: Flow map in block collection must be sufficiently indented and end with a }`])
  })

  it('reports duplicate keys', async () => {
    const path = await fileWith('dup.yaml', 'upstreams:\n  api: {url: "http://a"}\nupstreams:\n  b: {url: "http://b"}\n')
    expect((await loadError(path)).issues).toEqual([`${path}:3:1: Map keys must be unique`])
  })

  it.each([
    ['empty.yaml', ''],
    ['comments.yaml', '# nothing here\n'],
  ])('refuses an empty file (%s)', async (name, text) => {
    const error = await loadError(await fileWith(name, text))
    expect(error.issues).toEqual(['the file is empty; it needs at least an "upstreams" section'])
  })

  it('reports a missing file in one line, without calling it invalid', async () => {
    const path = join(dir, 'missing.yaml')
    const error = await loadError(path)
    expect(error.code).toBe('CORRAL_ERR_CONFIG_INVALID')
    expect(error.issues).toEqual([`cannot read config file ${path}: no such file`])
    expect(error.message).toBe(`cannot read config file ${path}: no such file`)
  })

  it('reports a directory given as the file', async () => {
    expect((await loadError(dir)).message).toBe(`cannot read config file ${dir}: it is a directory`)
  })

  it('reports an unresolvable alias', async () => {
    const path = await fileWith('alias.yaml', 'upstreams: *nope\n')
    const error = await loadError(path)
    expect(error.issues).toHaveLength(1)
    expect(error.issues[0]).toMatch(/^.*alias.yaml: .*nope/)
  })
})

describe('shipped examples', () => {
  const configDir = fileURLToPath(new URL('../../config/', import.meta.url))

  it('has example files', async () => {
    const names = (await readdir(configDir)).filter((name) => name.endsWith('.yaml'))
    expect(names).toEqual(expect.arrayContaining(['corral.yaml', 'minimal.yaml', 'demo.yaml']))
  })

  it('every config/*.yaml loads', async () => {
    const names = (await readdir(configDir)).filter((name) => name.endsWith('.yaml'))
    for (const name of names) {
      await expect(loadConfigFile(join(configDir, name)), name).resolves.toMatchObject({ source: join(configDir, name) })
    }
  })

  it('demo.yaml: 127.0.0.1:8080 → demo upstream on :3000, one catch-all route with staleIfError 1m', async () => {
    const config = await loadConfigFile(join(configDir, 'demo.yaml'))
    expect(config.listeners).toEqual([{ host: '127.0.0.1', port: 8080 }])
    expect(config.upstreams.get('demo')!.origin).toBe('http://127.0.0.1:3000')
    const route = onlyRoute(config)
    expect(route.match.path.kind).toBe('any')
    expect(route.cache).toMatchObject({ staleIfErrorMs: 60_000, staleWhileRevalidateMs: 0, defaultTtlMs: undefined })
  })

  it('corral.yaml: uses every kind of match and cache setting', async () => {
    const config = await loadConfigFile(join(configDir, 'corral.yaml'))
    expect(new Set(config.routes.map((route) => route.match.path.kind))).toEqual(new Set(['prefix', 'glob', 'regex', 'any']))
    expect(config.routes.find((route) => route.name === 'admin')!.cache).toBeUndefined()
    expect(new Set(config.routes.flatMap((route) => route.cache?.bypass.map((rule) => rule.kind) ?? []))).toEqual(
      new Set(['header', 'cookie', 'query']),
    )
    expect(config.routes.find((route) => route.name === 'users')!.cache?.clientCacheControl).toBe('private, max-age=30')
  })
})

describe('admin and purge settings', () => {
  const base = { upstreams: { default: { url: 'http://127.0.0.1:3000' } } }

  it('defaults: the admin listener on loopback 9090 without a token; tags from Surrogate-Key and Cache-Tag, stripped', () => {
    const config = compileConfig(base, 'test')
    expect(config.admin).toEqual({ host: '127.0.0.1', port: 9090, token: undefined, tokenSource: undefined })
    expect(config.purge).toEqual({ tagHeaders: ['surrogate-key', 'cache-tag'], exposeTags: false, method: false, allow: [] })
  })

  it('the token: CORRAL_ADMIN_TOKEN wins over admin.tokenFile; a short one is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-token-'))
    const file = join(dir, 'token')
    writeFileSync(file, 'from-the-file-0123456789\nignored\n')
    expect(compileConfig({ ...base, admin: { tokenFile: file } }, 'test').admin).toMatchObject({ token: 'from-the-file-0123456789', tokenSource: file })
    expect(compileConfig({ ...base, admin: { tokenFile: file } }, 'test', { adminToken: 'from-the-environment-01' }).admin).toMatchObject({
      token: 'from-the-environment-01',
      tokenSource: 'CORRAL_ADMIN_TOKEN',
    })
    expect(() => compileConfig(base, 'test', { adminToken: 'short' })).toThrow('CORRAL_ADMIN_TOKEN: too short: use 16 characters or more')
    writeFileSync(file, 'short\n')
    expect(() => compileConfig({ ...base, admin: { tokenFile: file } }, 'test')).toThrow(`admin.tokenFile: ${file} holds no token of 16 characters or more`)
    expect(() => compileConfig({ ...base, admin: { tokenFile: join(dir, 'missing') } }, 'test')).toThrow(`admin.tokenFile: cannot read ${join(dir, 'missing')}`)
  })

  it('purge.allow takes addresses and CIDR blocks, and is required by method: true', () => {
    const config = compileConfig({ ...base, purge: { method: true, allow: ['127.0.0.1', '10.0.0.0/8', '::1'] } }, 'test')
    expect(config.purge.allow).toEqual([
      { address: '127.0.0.1', prefix: 32, family: 'ipv4' },
      { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
      { address: '::1', prefix: 128, family: 'ipv6' },
    ])
    expect(() => compileConfig({ ...base, purge: { method: true } }, 'test')).toThrow('purge.allow: method: true needs the client addresses allowed to purge')
    expect(() => compileConfig({ ...base, purge: { allow: ['10.0.0.0/33'] } }, 'test')).toThrow('purge.allow[0]: expected an address or a CIDR block')
    expect(() => compileConfig({ ...base, admin: { port: 70000 } }, 'test')).toThrow('admin.port')
    expect(() => compileConfig(base, 'test', { adminPort: -1 })).toThrow('--admin-port: expected a port number 0..65535')
  })
})
