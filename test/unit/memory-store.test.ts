/**
 * The memory store's byte accounting: what it charges each record, that what it charges covers
 * what the record really holds in memory, that bodies are kept in buffers of their own, and that
 * the LRU stays within its budget (less the part kept back for the garbage collector). No timing:
 * the live-memory check counts bytes after a full garbage collection.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import type { RequestContext } from '../../src/context.js'
import { NO_DIRECTIVES } from '../../src/stages/decide.js'
import { deliver } from '../../src/stages/deliver.js'
import { buildEntry, judge } from '../../src/stages/store.js'
import { hashId } from '../../src/store/ids.js'
import {
  BODY_NATIVE_BYTES,
  ENTRY_OVERHEAD_BYTES,
  entryBytes,
  GC_RESERVE_BYTES,
  GC_RESERVE_SHARE,
  MemoryStore,
  recordBytes,
  stringBytes,
} from '../../src/store/memory.js'
import type { CacheEntry, VaryIndex } from '../../src/store/types.js'
import { routeCache } from '../helpers/route.js'

const route = routeCache({ maxObjectBytes: 8 * 1024 * 1024 })

/** A string of its own (not a constant the test shares between entries), as parsed from a socket. */
function fresh(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1')
}

/**
 * An entry as the fetch stage builds one: fresh header strings, and a body that is a view into a
 * larger chunk (as a body read from a socket in one piece is).
 */
function entryOf(i: number, bodyBytes: number): { id: string; entry: CacheEntry } {
  const now = Date.now()
  const headers: IncomingHttpHeaders = {
    date: fresh(new Date(now).toUTCString()),
    'content-type': fresh('application/json; charset=utf-8'),
    'cache-control': fresh('public, max-age=3600'),
    etag: fresh(`"${i.toString(16).padStart(16, '0')}"`),
    'last-modified': fresh(new Date(now - 60_000).toUTCString()),
    'x-request-id': fresh(`req-${i}-0123456789abcdef`),
    'content-length': fresh(String(bodyBytes)),
  }
  const head = { status: 200, headers, requestTime: now, responseTime: now }
  const verdict = judge(head, {}, NO_DIRECTIVES, route)
  if ('reason' in verdict) throw new Error(verdict.reason)
  const url = fresh(`GET http://api.example.com/items/${i}?page=1`)
  const key = { key: url, id: hashId(url), selector: '', target: `/items/${i}?page=1` }
  const chunk = Buffer.alloc(bodyBytes + 512, i % 251)
  return { id: key.id, entry: buildEntry(key, head, verdict.storable, chunk.subarray(300, 300 + bodyBytes), {}, route) }
}

function reserveOf(maxBytes: number): number {
  return Math.min(GC_RESERVE_BYTES, Math.floor(maxBytes * GC_RESERVE_SHARE))
}

describe('what the memory store charges a record', () => {
  it('an entry: its body, its strings and header fields, and the measured overheads', () => {
    const { id, entry } = entryOf(1, 10_000)
    let strings = stringBytes(id) + stringBytes(entry.key) + stringBytes(entry.version)
    for (const [name, value] of entry.headers) strings += stringBytes(name) + stringBytes(value)
    const charged = recordBytes(id, entry)
    expect(charged).toBeGreaterThanOrEqual(10_000 + BODY_NATIVE_BYTES + ENTRY_OVERHEAD_BYTES + strings)
    // …and not wildly more: a few KiB for six header fields (kept three ways) and the ready-made HIT heads.
    expect(charged).toBeLessThan(10_000 + 7 * 1024)
    // buildEntry's size is the same figure, without the id.
    expect(entry.size).toBe(entryBytes(entry))
    expect(charged).toBeGreaterThan(entry.size)
  })

  it("the plain-HIT writer's head: each field line is charged again as its text and its bytes", () => {
    const { entry } = entryOf(3, 1_000)
    const more = { ...entry, headers: [...entry.headers, ['x-extra', 'v'.repeat(200)] as [string, string]] }
    const line = 'x-extra: '.length + 200 + 2
    // The field itself (its two strings and its slots), plus its line twice in the heap and once as bytes.
    expect(entryBytes(more) - entryBytes(entry)).toBeGreaterThanOrEqual(stringBytes('x-extra') + stringBytes('v'.repeat(200)) + 3 * line)
  })

  it('a body that is a view: the whole ArrayBuffer it keeps alive', () => {
    const { entry } = entryOf(2, 1_000)
    const view = Buffer.alloc(64 * 1024).subarray(0, 1_000)
    expect(entryBytes({ ...entry, body: view }) - entryBytes(entry)).toBe(64 * 1024 - 1_000)
  })

  it('a string past Latin-1: two bytes a character', () => {
    expect(stringBytes('a'.repeat(40))).toBe(16 + 40)
    expect(stringBytes('é'.repeat(40))).toBe(16 + 40)
    expect(stringBytes('€'.repeat(40))).toBe(16 + 80)
  })

  it('a vary index: by its field names and variant ids', () => {
    const index = (variants: number): VaryIndex => ({
      kind: 'vary',
      version: 'v00000000001',
      vary: ['accept-encoding'],
      generation: 'gen1',
      expiresAt: Date.now() + 60_000,
      variants: Array.from({ length: variants }, (_, i) => `${'x'.repeat(22)}:v:${String(i).padStart(22, '0')}`),
    })
    expect(recordBytes('x'.repeat(22), index(1))).toBeGreaterThan(256)
    expect(recordBytes('x'.repeat(22), index(11)) - recordBytes('x'.repeat(22), index(1))).toBeGreaterThanOrEqual(10 * (8 + stringBytes('x'.repeat(48))))
  })

  it('at least the size the entry says it has', () => {
    const { id, entry } = entryOf(3, 10)
    expect(recordBytes(id, { ...entry, size: 1_000_000 })).toBe(1_000_000)
  })
})

describe('the memory store', () => {
  it('keeps bodies in buffers of their own, exactly sized', () => {
    const store = new MemoryStore({ maxBytes: 1 << 20, maxObjectBytes: 1 << 16 })
    const { id, entry } = entryOf(4, 1_000)
    // Handed a view into a larger buffer (a record decoded from Redis, a small one from Node's pool)…
    const view = Buffer.alloc(64 * 1024, 7).subarray(500, 1_500)
    store.writeSync([{ id, record: { ...entry, body: view } }])
    const stored = store.lookup(id) as CacheEntry
    // …it keeps a copy of just the body.
    expect(stored.body.buffer.byteLength).toBe(1_000)
    expect(stored.body.equals(view)).toBe(true)
    expect(store.statsSync().bytes).toBeLessThan(64 * 1024)
    // buildEntry already made its body its own: stored as it is.
    expect(entry.body.buffer.byteLength).toBe(1_000)
    store.writeSync([{ id, record: entry }])
    expect(store.lookup(id)).toBe(entry)
  })

  it('stats().bytes is the sum of what its records cost, within the budget less the GC reserve; the least recently used go first', () => {
    const maxBytes = 1 << 20
    const store = new MemoryStore({ maxBytes, maxObjectBytes: 1 << 16 })
    const written = Array.from({ length: 200 }, (_, i) => entryOf(i, 10_000))
    for (const { id, entry } of written) store.writeSync([{ id, record: entry }])
    const kept = written.filter(({ id }) => store.peek(id) !== undefined)
    const { entries, bytes } = store.statsSync()
    expect(entries).toBe(kept.length)
    expect(bytes).toBe(kept.reduce((sum, { id, entry }) => sum + recordBytes(id, entry), 0))
    expect(bytes).toBeLessThanOrEqual(maxBytes - reserveOf(maxBytes))
    // Full: one more entry of this size would not have fitted.
    expect(bytes + recordBytes(written[0]!.id, written[0]!.entry)).toBeGreaterThan(maxBytes - reserveOf(maxBytes))
    // The newest ones, in one run.
    expect(kept).toEqual(written.slice(written.length - kept.length))
  })

  it('the GC reserve: a quarter of a small budget, at most GC_RESERVE_BYTES of a large one', () => {
    expect(reserveOf(64 * 1024 * 1024)).toBe(16 * 1024 * 1024)
    expect(reserveOf(256 * 1024 * 1024)).toBe(GC_RESERVE_BYTES)
    expect(reserveOf(4 * 1024 * 1024 * 1024)).toBe(GC_RESERVE_BYTES)
    expect(new MemoryStore({ maxBytes: 256 * 1024 * 1024, maxObjectBytes: 1 << 20 }).statsSync().maxBytes).toBe(256 * 1024 * 1024)
  })

  it('an object larger than the budget less its reserve is not stored', () => {
    const store = new MemoryStore({ maxBytes: 40_000, maxObjectBytes: 40_000 })
    const { id, entry } = entryOf(5, 35_000)
    store.writeSync([{ id, record: entry }])
    expect(store.lookup(id)).toBeUndefined()
    expect(store.statsSync()).toMatchObject({ entries: 0, bytes: 0 })
  })
})

describe('what the memory store charges covers what entries really hold', () => {
  // A full collection on demand, without starting node with --expose-gc.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void

  const res = { writeHead: () => res, end: () => res } as unknown as ServerResponse

  /**
   * Live heap and ArrayBuffer bytes per entry, after a full GC, for `n` entries stored and each
   * delivered once (deliver keeps their flattened headers), and what the store charged per entry.
   */
  function measure(n: number, bodyBytes: number): { heap: number; buffers: number; charged: number } {
    const store = new MemoryStore({ maxBytes: 1 << 30, maxObjectBytes: 1 << 20 })
    const store1 = (i: number): void => {
      const { id, entry } = entryOf(i, bodyBytes)
      store.writeSync([{ id, record: entry }])
      const ctx = { req: { headers: {} }, res, method: 'GET', route: undefined } as unknown as RequestContext
      deliver(ctx, store.lookup(id) as CacheEntry, 'HIT')
    }
    // Warm up (code, hidden classes, the id cache), then start from a clean heap.
    for (let i = 0; i < 200; i++) store1(1_000_000 + i)
    store.clear()
    gc()
    gc()
    const before = process.memoryUsage()
    for (let i = 0; i < n; i++) store1(i)
    gc()
    gc()
    const after = process.memoryUsage()
    expect(store.statsSync().entries).toBe(n)
    return {
      heap: (after.heapUsed - before.heapUsed) / n,
      buffers: (after.arrayBuffers - before.arrayBuffers) / n,
      charged: store.statsSync().bytes / n,
    }
  }

  it.each([
    [100, 4_000],
    [1_024, 4_000],
    [64 * 1024, 500],
  ])('bodies of %i bytes', (bodyBytes, n) => {
    const { heap, buffers, charged } = measure(n, bodyBytes)
    // Never less than it holds, with the room the V8 heap takes beyond its live objects…
    expect(charged).toBeGreaterThanOrEqual(buffers + heap * 1.5)
    // …and not much more.
    expect(charged).toBeLessThan(2.5 * (buffers + heap) + 1_024)
  })
})

describe('a purge and the fetches under way when it came', () => {
  const store = (): MemoryStore => new MemoryStore({ maxBytes: 64 * 1024 * 1024, maxObjectBytes: 1024 * 1024 })
  const urlPurge = (id: string, i: number, soft: boolean) => ({
    target: { kind: 'url' as const, host: 'api.example.com', target: `/items/${i}?page=1`, ids: [id] },
    soft,
  })

  it('an entry fetched before a purge that names it is not stored after it; others are', () => {
    const s = store()
    const one = entryOf(1, 100)
    const two = entryOf(2, 100)
    s.purgeSync(urlPurge(one.id, 1, false), one.entry.requestTime + 1)
    s.writeSync([
      { id: one.id, record: one.entry },
      { id: two.id, record: two.entry },
    ])
    expect(s.lookup(one.id)).toBeUndefined()
    expect(s.lookup(two.id)).toBe(two.entry)
    // Fetched after the purge: stored.
    const later = { ...one.entry, requestTime: one.entry.requestTime + 2 }
    s.writeSync([{ id: one.id, record: later }])
    expect(s.lookup(one.id)).toBe(later)
  })

  it('after a soft purge it is stored, but stale; a purge of everything leaves out every earlier fetch', () => {
    const s = store()
    const one = entryOf(1, 100)
    s.purgeSync(urlPurge(one.id, 1, true), one.entry.requestTime + 1)
    s.writeSync([{ id: one.id, record: one.entry }])
    const stored = s.lookup(one.id)
    expect(stored?.kind === 'entry' && stored.staleAt <= Date.now()).toBe(true)
    expect(one.entry.staleAt).toBeGreaterThan(Date.now())

    const all = store()
    const two = entryOf(2, 100)
    all.purgeSync({ target: { kind: 'all' }, soft: false }, two.entry.requestTime + 1)
    expect(all.sincePurges([{ id: two.id, record: two.entry }])).toEqual([])
  })
})
