/**
 * Shared vocabulary for the conformance transcripts: each test file checks corral (default config,
 * no routes) against one module of the public HTTP caching test suite (cache-tests.fyi), in our own
 * words. The suite's notions map onto the harness like this:
 *
 *  - "cached": corral answered and the origin did not see the request;
 *  - "not cached": the origin saw the request;
 *  - "validated": the origin saw a conditional request (If-None-Match / If-Modified-Since);
 *  - "pause": the suite waits a few seconds between requests; here the faked Date moves 3 s.
 *
 * Each file groups its cases by the suite's `kind`: `describe('<module>: required')`, `…: optimal`,
 * and `…: check` for the cases the suite only asks about (no requirement; they assert what corral
 * does, with the RFC section that decides it).
 *
 * Every test runs with Date faked (only Date: the gateway's timers stay real), so that relative
 * dates ("Expires: now + 10000 s") are exact. Each test uses its own path (the suite id), because
 * the gateway and its store live for the whole file.
 */
import { beforeEach, expect, vi } from 'vitest'
import { later, useGateway, type Got, type TestBed } from '../helpers/gateway.js'
import type { Reply, SeenRequest } from '../helpers/origin.js'

export interface Init {
  method?: string
  headers?: Record<string, string>
  body?: string
}

export type Headers = Record<string, string | string[] | undefined>

/** HTTP-date `seconds` away from the (faked) current time. */
export function httpDate(seconds = 0): string {
  return new Date(Date.now() + seconds * 1000).toUTCString()
}

/** The suite's `pause_after`: let a few seconds pass. */
export function pause(seconds = 3): void {
  later(seconds * 1000)
}

/** The suite's "fresh" response: long max-age and Expires, Last-Modified and Date now. */
export function freshHeaders(): Headers {
  return {
    expires: httpDate(100_000),
    'cache-control': 'max-age=100000',
    'last-modified': httpDate(0),
    date: httpDate(0),
  }
}

/** The suite's "stale" response: Expires in the past, Last-Modified long ago, no Cache-Control. */
export function staleHeaders(): Headers {
  return { expires: httpDate(-5000), 'last-modified': httpDate(-100_000), date: httpDate(0) }
}

/**
 * An origin handler that answers conditional requests the way a real origin would: 304 (with the
 * 304's own headers, `notModified`, or the full headers) when If-None-Match names the reply's ETag
 * or If-Modified-Since equals its Last-Modified; the full reply otherwise.
 */
export function validating(
  full: Reply,
  notModified?: Headers,
): (req: SeenRequest) => Reply {
  return (req) => {
    const headers = full.headers ?? {}
    const etag = headers.etag
    const lm = headers['last-modified']
    const inm = req.headers['if-none-match']
    const ims = req.headers['if-modified-since']
    const etagMatch = typeof inm === 'string' && typeof etag === 'string' && inm.split(',').map((s) => s.trim()).includes(etag)
    const lmMatch = inm === undefined && typeof ims === 'string' && typeof lm === 'string' && ims === lm
    if (etagMatch || lmMatch) return { status: 304, headers: notModified ?? headers }
    return full
  }
}

export interface Conformance extends TestBed {
  /** Send a request; the origin may or may not see it. */
  send(path: string, init?: Init): Promise<Got>
  /** Send a request that corral must answer itself (the origin sees nothing). */
  cached(path: string, init?: Init): Promise<Got>
  /** Send a request that must reach the origin. */
  notCached(path: string, init?: Init): Promise<Got>
  /** Send a request that must reach the origin as a conditional one; returns what the origin saw too. */
  validated(path: string, by: 'etag' | 'lm', init?: Init): Promise<{ got: Got; seen: SeenRequest }>
  /** The last request the origin saw on `path`. */
  lastSeen(path: string): SeenRequest | undefined
}

/** One gateway (default config: no routes) and one origin for the file, with Date faked in every test. */
export function useConformance(): Conformance {
  const t = useGateway()
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] })
  })
  const pathOf = (p: string) => p.split('?')[0] ?? p
  const lastSeen = (path: string) => t.origin.seen.filter((r) => pathOf(r.url) === pathOf(path)).at(-1)
  const send = (path: string, init: Init = {}) => t.get(path, init)
  return {
    get origin() {
      return t.origin
    },
    get gateway() {
      return t.gateway
    },
    get: t.get,
    send,
    lastSeen,
    async cached(path, init) {
      const before = t.origin.seen.length
      const got = await send(path, init)
      expect(t.origin.seen.slice(before).map((r) => `${r.method} ${r.url}`), 'the origin saw the request').toEqual([])
      return got
    },
    async notCached(path, init) {
      const before = t.origin.seen.filter((r) => pathOf(r.url) === pathOf(path)).length
      const got = await send(path, init)
      expect(t.origin.seen.filter((r) => pathOf(r.url) === pathOf(path)).length, 'the origin did not see the request').toBe(before + 1)
      return got
    },
    async validated(path, by, init) {
      const before = t.origin.seen.filter((r) => pathOf(r.url) === pathOf(path)).length
      const got = await send(path, init)
      expect(t.origin.seen.filter((r) => pathOf(r.url) === pathOf(path)).length, 'the origin did not see the request').toBe(before + 1)
      const seen = lastSeen(path)!
      const field = by === 'etag' ? 'if-none-match' : 'if-modified-since'
      expect(seen.headers[field], `the request to the origin had no ${field}`).toBeDefined()
      return { got, seen }
    },
  }
}
