/** "Did you mean": the closest known name to a misspelt one, only when it is close. */
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { closest, editDistance, keysAt } from '../../src/config/suggest.js'

/** The long options of src/cli.ts. */
const FLAGS = ['config', 'upstream', 'port', 'host', 'log-level', 'redis', 'workers', 'port-file', 'help', 'version']

describe('editDistance', () => {
  it.each([
    ['ttl', 'ttl', 0],
    ['tll', 'ttl', 1], // a swap of neighbours is one edit
    ['upstrem', 'upstream', 1],
    ['ttl', 'url', 2],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
  ])('%s → %s: %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d)
    expect(editDistance(b, a)).toBe(d)
  })
})

describe('closest: misspelt CLI flags', () => {
  it.each([
    ['upstrem', 'upstream'],
    ['upstreams', 'upstream'],
    ['prot', 'port'],
    ['log_level', 'log-level'],
    ['loglevel', 'log-level'],
    ['worker', 'workers'],
    ['confg', 'config'],
    ['redsi', 'redis'],
    ['portfile', 'port-file'],
    ['VERSION', 'version'],
  ])('--%s → --%s', (typed, meant) => {
    expect(closest(typed, FLAGS)).toBe(meant)
  })

  it.each(['frobnicate', 'x', 'timeout', 'url', 'cache'])('--%s: nothing close enough', (typed) => {
    expect(closest(typed, FLAGS)).toBeUndefined()
  })
})

describe('closest: config keys', () => {
  const ROUTE_CACHE = ['ttl', 'statusTtl', 'staleWhileRevalidate', 'staleIfError', 'retainStale', 'jitter', 'key', 'bypass']
  it.each([
    ['tll', 'ttl'],
    ['TTL', 'ttl'],
    ['status_ttl', 'statusTtl'],
    ['stale-while-revalidate', 'staleWhileRevalidate'],
    ['staleWhileRevalidte', 'staleWhileRevalidate'],
    ['bypas', 'bypass'],
  ])('%s → %s', (typed, meant) => {
    expect(closest(typed, ROUTE_CACHE)).toBe(meant)
  })

  it('ties go to the first candidate', () => {
    expect(closest('cat', ['bat', 'hat'])).toBe('bat')
  })
})

describe('keysAt', () => {
  const schema = z.strictObject({
    a: z.strictObject({ ttl: z.string().optional(), name: z.string().optional() }).prefault({}),
    list: z.array(z.strictObject({ header: z.string() })).optional(),
    byName: z.record(z.string(), z.strictObject({ url: z.string() })),
    either: z.union([z.enum(['all']), z.strictObject({ only: z.array(z.string()) }), z.strictObject({ ignore: z.array(z.string()) })]),
    pre: z.preprocess((x) => x, z.union([z.literal(false), z.strictObject({ inner: z.string() })])),
  })

  it.each<[PropertyKey[], string[]]>([
    [[], ['a', 'list', 'byName', 'either', 'pre']],
    [['a'], ['ttl', 'name']],
    [['list', 3], ['header']],
    [['byName', 'api'], ['url']],
    [['either'], ['only', 'ignore']],
    [['pre'], ['inner']],
    [['nope'], []],
  ])('at %j: %j', (path, keys) => {
    expect(keysAt(schema, path)).toEqual(keys)
  })
})
