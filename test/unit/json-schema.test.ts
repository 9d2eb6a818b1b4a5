import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { Ajv, type ErrorObject } from 'ajv'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { parse } from 'yaml'

import { runSchema } from '../../src/commands/schema.js'
import { ConfigError, compileConfig } from '../../src/config/index.js'
import {
  configJsonSchema,
  DESCRIPTIONS,
  eachNode,
  renderConfigJsonSchema,
  schemaAt,
  SCHEMA_FILE,
} from '../../src/config/json-schema.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const configDir = join(root, 'config')
const FIRST_LINE = '# yaml-language-server: $schema=./corral.schema.json'

const schema = configJsonSchema()

/**
 * A real draft-07 validator, strict about the schema itself (unknown keywords). Not about keywords
 * for other types: statusTtl's key names carry number keywords, as YAML reads `200:` as a number
 * key and the YAML language server checks it as one, where JSON has only string keys.
 */
function newAjv(): Ajv {
  const ajv = new Ajv({ strict: true, strictTypes: false, strictRequired: false, allErrors: true, allowUnionTypes: true })
  // the YAML language server's own keywords: messages
  ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' })
  ajv.addKeyword({ keyword: 'errorMessage', schemaType: 'string' })
  ajv.addFormat('regex', {
    type: 'string',
    validate: (source: string) => {
      try {
        new RegExp(source)
        return true
      } catch {
        return false
      }
    },
  })
  return ajv
}
const ajv = newAjv()
const validate = ajv.compile(schema)

/** YAML as corral reads it (merge keys on). */
function yaml(text: string): unknown {
  return parse(text, { merge: true }) as unknown
}

function schemaErrors(doc: unknown): string {
  return validate(doc) ? '' : ajv.errorsText(validate.errors as ErrorObject[])
}

function corralErrors(doc: unknown): string {
  try {
    compileConfig(doc, 'test.yaml')
    return ''
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.join('; ')
    throw err
  }
}

const UPSTREAM = `
upstreams:
  api:
    url: http://127.0.0.1:3000
`

describe('config/corral.schema.json', () => {
  it('is what the generator writes (npm run schema regenerates it)', async () => {
    const committed = await readFile(join(root, SCHEMA_FILE), 'utf8').catch(() => '(missing)')
    expect(committed, `${SCHEMA_FILE} is out of date with src/config/schema.ts: run \`npm run schema\` to regenerate it`).toBe(
      renderConfigJsonSchema(),
    )
  })

  it('is a valid draft-07 schema', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#')
    expect(ajv.validateSchema(schema), ajv.errorsText(ajv.errors)).toBe(true)
  })
})

describe('the example YAML files', () => {
  it('each starts with the yaml-language-server line and validates against the JSON Schema and compileConfig', async () => {
    const names = (await readdir(configDir)).filter((name) => name.endsWith('.yaml'))
    expect(names.length).toBeGreaterThanOrEqual(3)
    for (const name of names) {
      const text = await readFile(join(configDir, name), 'utf8')
      expect(text.split('\n')[0], name).toBe(FIRST_LINE)
      const doc = yaml(text)
      expect(schemaErrors(doc), name).toBe('')
      expect(corralErrors(doc), name).toBe('')
    }
  })
})

describe('the JSON Schema and compileConfig agree', () => {
  const invalid: [string, string][] = [
    ['unknown top-level key', `${UPSTREAM}\ntll: 5m\n`],
    ['unknown key in a route', `${UPSTREAM}\nroutes:\n  - upstream: api\n    cach: true\n`],
    ['unknown key in a route cache', `${UPSTREAM}\nroutes:\n  - cache:\n      tll: 5m\n`],
    ['unknown key in a match', `${UPSTREAM}\nroutes:\n  - match: {paht: /api}\n`],
    ['unknown key in server', `${UPSTREAM}\nserver:\n  worker: 2\n`],
    ['unknown key in an upstream', `upstreams:\n  api:\n    url: http://127.0.0.1:3000\n    timeout: 5s\n`],
    ['unknown key in admin', `${UPSTREAM}\nadmin:\n  token: abc\n`],
    ['unknown key in purge', `${UPSTREAM}\npurge:\n  tags: [x]\n`],
    ['no upstreams', 'listeners:\n  - port: 8080\n'],
    ['empty upstreams', 'upstreams: {}\n'],
    ['bad upstream name', 'upstreams:\n  "my api":\n    url: http://127.0.0.1:3000\n'],
    ['an upstream without url', 'upstreams:\n  api:\n    connections: 4\n'],
    ['listeners as a mapping', `${UPSTREAM}\nlisteners:\n  host: 0.0.0.0\n  port: 8080\n`],
    ['a port as a string', `${UPSTREAM}\nlisteners:\n  - port: "8080"\n`],
    ['a port out of range', `${UPSTREAM}\nadmin:\n  port: 70000\n`],
    ['a boolean as a string', `${UPSTREAM}\nlog:\n  access: "yes"\n`],
    ['routes as a mapping', `${UPSTREAM}\nroutes:\n  upstream: api\n`],
    ['empty routes', `${UPSTREAM}\nroutes: []\n`],
    ['cache as a string', `${UPSTREAM}\nroutes:\n  - cache: "yes"\n`],
    ['bad enum: log level', `${UPSTREAM}\nlog:\n  level: verbose\n`],
    ['bad enum: coalesce lock', `${UPSTREAM}\ncoalesce:\n  lock: global\n`],
    ['bad enum: setCookie', `${UPSTREAM}\nroutes:\n  - cache:\n      setCookie: keep\n`],
    ['bad enum: key query', `${UPSTREAM}\nroutes:\n  - cache:\n      key:\n        query: some\n`],
    ['a duration as a bare number', `${UPSTREAM}\nserver:\n  requestTimeout: 30\n`],
    ['a duration in words', `${UPSTREAM}\nroutes:\n  - cache:\n      ttl: 5 minutes\n`],
    ['a zero lease', `${UPSTREAM}\ncoalesce:\n  lease: 0\n`],
    ['a size with a lower-case unit', `${UPSTREAM}\nserver:\n  maxBodySize: 10mb\n`],
    ['a fraction over 100%', `${UPSTREAM}\nroutes:\n  - cache:\n      jitter: 150%\n`],
    ['workers: 0', `${UPSTREAM}\nserver:\n  workers: 0\n`],
    ['workers: many', `${UPSTREAM}\nserver:\n  workers: many\n`],
    ['an ftp upstream', 'upstreams:\n  api:\n    url: ftp://127.0.0.1/\n'],
    ['an upstream URL with a query', 'upstreams:\n  api:\n    url: http://127.0.0.1:3000/?a=1\n'],
    ['an upstream URL with credentials', 'upstreams:\n  api:\n    url: http://me:pw@127.0.0.1:3000\n'],
    ['redis with url and cluster', `${UPSTREAM}\nstore:\n  redis:\n    url: redis://a:6379\n    cluster: [redis://b:7000]\n`],
    ['redis with neither url nor cluster', `${UPSTREAM}\nstore:\n  redis:\n    prefix: x\n`],
    ['an http URL for redis', `${UPSTREAM}\nstore:\n  redis:\n    url: http://a:6379\n`],
    ['a redis database that is not a number', `${UPSTREAM}\nstore:\n  redis:\n    url: redis://a:6379/zero\n`],
    ['path and glob together', `${UPSTREAM}\nroutes:\n  - match: {path: /api, glob: /api/*}\n`],
    ['a path without /', `${UPSTREAM}\nroutes:\n  - match: {path: api}\n`],
    ['a host with a port', `${UPSTREAM}\nroutes:\n  - match: {host: "api.example.com:8080"}\n`],
    ['a host list with a bad name', `${UPSTREAM}\nroutes:\n  - match: {host: [api.example.com, "a b"]}\n`],
    ['a bad regex', `${UPSTREAM}\nroutes:\n  - match: {regex: "("}\n`],
    ['a bad method', `${UPSTREAM}\nroutes:\n  - match: {methods: ["GE T"]}\n`],
    ['a bypass rule with two names', `${UPSTREAM}\nroutes:\n  - cache:\n      bypass:\n        - {header: a, cookie: b}\n`],
    ['a bypass rule with none', `${UPSTREAM}\nroutes:\n  - cache:\n      bypass:\n        - {equals: "1"}\n`],
    ['a status 600', `${UPSTREAM}\nroutes:\n  - cache:\n      statusTtl: {600: 1m}\n`],
    ['a status class 6xx', `${UPSTREAM}\nroutes:\n  - cache:\n      statusTtl: {6xx: 1m}\n`],
    ['an empty clientCacheControl', `${UPSTREAM}\nroutes:\n  - cache:\n      clientCacheControl: {}\n`],
    ['max-age not in whole seconds', `${UPSTREAM}\nroutes:\n  - cache:\n      clientCacheControl: {max-age: 1500ms}\n`],
    ['purge method without allow', `${UPSTREAM}\npurge:\n  method: true\n`],
    ['purge allow with a host name', `${UPSTREAM}\npurge:\n  method: true\n  allow: [localhost]\n`],
    ['an empty admin host', `${UPSTREAM}\nadmin:\n  host: ""\n`],
  ]

  it.each(invalid)('both reject: %s', (_name, text) => {
    const doc = yaml(text)
    expect(corralErrors(doc), 'compileConfig accepted it').not.toBe('')
    expect(schemaErrors(doc), 'the JSON Schema accepted it').not.toBe('')
  })

  const valid: [string, string][] = [
    ['the smallest file', UPSTREAM],
    ['durations as strings', `${UPSTREAM}\nserver:\n  requestTimeout: 5m\n  keepAliveTimeout: 250ms\n  drainTimeout: " 10s "\n`],
    ['durations as the number 0 and "0"', `${UPSTREAM}\nserver:\n  requestTimeout: 0\n  keepAliveTimeout: "0"\nroutes:\n  - cache:\n      staleIfError: 0s\n`],
    ['sizes as numbers and strings', `${UPSTREAM}\nserver:\n  maxBodySize: 1048576\n  maxHeaderSize: 32KiB\nstore:\n  memory: {maxSize: 1GB, maxObjectSize: 0}\n`],
    ['cache: false', `${UPSTREAM}\nroutes:\n  - cache: false\n`],
    ['cache: true', `${UPSTREAM}\nroutes:\n  - cache: true\n`],
    ['cache left out', `${UPSTREAM}\nroutes:\n  - name: all\n`],
    ['workers: auto', `${UPSTREAM}\nserver:\n  workers: auto\n`],
    ['workers: 4', `${UPSTREAM}\nserver:\n  workers: 4\n`],
    ['workers: "2"', `${UPSTREAM}\nserver:\n  workers: "2"\n`],
    ['fractions', `${UPSTREAM}\nroutes:\n  - cache:\n      jitter: 10%\n      heuristic: 0.25\n      earlyRefresh: 100%\n`],
    ['status TTLs', `${UPSTREAM}\nroutes:\n  - cache:\n      statusTtl: {200: 10m, 404: 1m, 5xx: 0, 4XX: 30s}\n`],
    ['admin and purge', `${UPSTREAM}\nadmin:\n  host: 0.0.0.0\n  port: 0\npurge:\n  tagHeaders: [Surrogate-Key, x-tags]\n  exposeTags: true\n  method: true\n  allow: [127.0.0.1/32, "::1", 10.0.0.0/8]\n`],
    ['redis by url', `${UPSTREAM}\nstore:\n  redis:\n    url: rediss://user:pass@redis.internal:6380/2\n    timeout: 100ms\n    compressAbove: 0\n`],
    ['redis cluster', `${UPSTREAM}\nstore:\n  redis:\n    cluster: [redis://10.0.0.1:7000, redis://10.0.0.2:7000]\n`],
    ['matches', `${UPSTREAM}\nroutes:\n  - match: {host: [api.example.com, "*.example.com"], glob: /api/*/items, methods: [GET, head]}\n  - match: {host: API.example.com, regex: "^/v[0-9]+/"}\n`],
    ['key, bypass and clientCacheControl', `${UPSTREAM}\nroutes:\n  - cache:\n      key: {query: {only: [page]}, cookies: [session]}\n      bypass: [{header: x-no-cache}, {query: nocache, equals: 1}]\n      clientCacheControl: {private: true, max-age: 30s, stale-if-error: 0}\n`],
    ['a route coalesce', `${UPSTREAM}\nroutes:\n  - cache:\n      coalesce: {lock: local, waitTimeout: 3s}\n`],
    ['an upstream with a path', 'upstreams:\n  static:\n    url: HTTPS://cdn.example.com/public/\n    connections: 1\n'],
    ['merge keys', `${UPSTREAM}\nroutes:\n  - name: a\n    cache: &shared {ttl: 5m}\n  - name: b\n    cache:\n      <<: *shared\n      jitter: 10%\n`],
  ]

  it.each(valid)('both accept: %s', (_name, text) => {
    const doc = yaml(text)
    expect(corralErrors(doc)).toBe('')
    expect(schemaErrors(doc)).toBe('')
  })

  // Every value in every kind of scalar field that schema.ts parses itself: same verdict.
  const VALUES: unknown[] = [
    '30s', '250ms', '1500ms', '2000ms', '0', '0s', '0ms', 0, 30, -1, 1.5, '30', ' 5m ', '5 m', '5M', '1d', '1w',
    '1MiB', '64KB', '1024', '1 KiB', '0B', 1024, '10%', '100%', '150%', ' 10 % ', '0.5', 0.5, 1, 2, 'auto', 'AUTO',
    '4', '256', '257', '', null, true, [], {},
  ]
  const FIELDS: [string, (value: unknown) => unknown][] = [
    ['server.requestTimeout (duration)', (value) => ({ ...yaml(UPSTREAM) as object, server: { requestTimeout: value } })],
    ['coalesce.lease (duration > 0)', (value) => ({ ...yaml(UPSTREAM) as object, coalesce: { lease: value } })],
    ['clientCacheControl.max-age (whole seconds)', (value) => ({ ...yaml(UPSTREAM) as object, routes: [{ cache: { clientCacheControl: { 'max-age': value } } }] })],
    ['server.maxBodySize (size)', (value) => ({ ...yaml(UPSTREAM) as object, server: { maxBodySize: value } })],
    ['server.maxHeaderSize (size > 0)', (value) => ({ ...yaml(UPSTREAM) as object, server: { maxHeaderSize: value } })],
    ['cache.jitter (fraction)', (value) => ({ ...yaml(UPSTREAM) as object, routes: [{ cache: { jitter: value } }] })],
    ['server.workers', (value) => ({ ...yaml(UPSTREAM) as object, server: { workers: value } })],
  ]

  it.each(FIELDS)('same verdict on %s for every sample value', (_name, document) => {
    const verdicts = VALUES.map((value) => {
      const doc = document(value)
      return { value, corral: corralErrors(doc) === '', schema: schemaErrors(doc) === '' }
    })
    expect(verdicts.filter((v) => v.corral !== v.schema)).toEqual([])
    expect(verdicts.some((v) => v.corral)).toBe(true)
  })
})

describe('what editors show', () => {
  it('every key has a description, and every described path exists', () => {
    const missing: string[] = []
    eachNode(schema, (path, node) => {
      if (!path.endsWith('[]') && typeof node.description !== 'string') missing.push(path)
    })
    expect(missing, 'add them to DESCRIPTIONS in src/config/json-schema.ts').toEqual([])
    for (const path of Object.keys(DESCRIPTIONS)) expect(schemaAt(schema, path), path).toBeDefined()
  })

  it('no key is left as {} (anything goes): each says what it takes', () => {
    const open: string[] = []
    eachNode(schema, (path, node) => {
      if (!['type', 'anyOf', 'enum', 'const'].some((keyword) => keyword in node)) open.push(path)
    })
    expect(open, 'give them an input schema in src/config/json-schema.ts').toEqual([])
  })

  it('unknown keys are flagged: every mapping with named keys is closed', () => {
    const openMappings: string[] = []
    eachNode(schema, (path, node) => {
      if (node.properties !== undefined && node.additionalProperties !== false) openMappings.push(path)
    })
    expect(openMappings).toEqual([])
  })

  it('defaults are written as people write them, and each is valid where it stands', () => {
    expect(schemaAt(schema, 'server.requestTimeout')?.default).toBe('1m')
    expect(schemaAt(schema, 'server.maxHeaderSize')?.default).toBe('16KiB')
    expect(schemaAt(schema, 'store.redis.timeout')?.default).toBe('250ms')
    expect(schemaAt(schema, 'server.workers')?.default).toBe(1)
    expect(schemaAt(schema, 'admin.port')?.default).toBe(9090)
    expect(schemaAt(schema, 'purge.tagHeaders')?.default).toEqual(['surrogate-key', 'cache-tag'])
    expect(schemaAt(schema, 'routes[].cache')?.default).toBe(true)
    expect(schemaAt(schema, 'listeners')?.default).toEqual([{ host: '0.0.0.0', port: 8080 }])
    const checker = newAjv()
    let count = 0
    eachNode(schema, (path, node) => {
      if (!('default' in node) || path === '') return
      count++
      const check = checker.compile(node)
      expect(check(node.default), `${path}: default ${JSON.stringify(node.default)}`).toBe(true)
    })
    expect(count).toBeGreaterThan(40)
  })
})

describe('corral schema', () => {
  let dir: string | undefined
  afterEach(async () => {
    vi.restoreAllMocks()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
    dir = undefined
  })

  function capture(stream: NodeJS.WriteStream): string[] {
    const chunks: string[] = []
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(String(chunk))
      return true
    })
    return chunks
  }

  it('prints the schema', async () => {
    const out = capture(process.stdout)
    expect(await runSchema([])).toBe(0)
    expect(out.join('')).toBe(renderConfigJsonSchema())
  })

  it('--out writes it to a file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'corral-schema-'))
    const file = join(dir, 'schema.json')
    const err = capture(process.stderr)
    expect(await runSchema(['--out', file])).toBe(0)
    expect(await readFile(file, 'utf8')).toBe(renderConfigJsonSchema())
    expect(err.join('')).toBe(`corral: schema: wrote ${file}\n`)
  })

  it.each([[['--bogus']], [['extra']], [['--out']], [['--out=']]])('usage error %j: one line, exit 2', async (args) => {
    const out = capture(process.stdout)
    const err = capture(process.stderr)
    expect(await runSchema(args)).toBe(2)
    expect(out).toEqual([])
    expect(err.join('')).toMatch(/^corral: schema: [^\n]+\n$/)
  })

  it('a file that cannot be written: exit 1, with the reason', async () => {
    const err = capture(process.stderr)
    expect(await runSchema(['--out', join(root, 'no-such-dir', 'schema.json')])).toBe(1)
    expect(err.join('')).toMatch(/^corral: schema: cannot write .*: ENOENT\n$/)
  })
})
