/**
 * hit-fast: the plain HIT written straight to the socket. A GET or HEAD on a keep-alive HTTP/1.1
 * connection, with no conditional and no Range, for a fresh entry: the bytes deliver() would have
 * node write (the stored fields, Age, X-Cache-Status, Cache-Status, Content-Length, then node's
 * own Connection and Keep-Alive), made once per entry and second of Age, written with the body in
 * one writev.
 * Everything else, and any entry whose head node would write differently (a field node manages
 * itself, no stored Date), goes through deliver().
 *
 * Why: on every hit, node's ServerResponse turns the header array into a string, validating each
 * field, and then that string into bytes; a HIT's head changes once a second. Pipelined requests
 * that arrive while an answer is still on its way out are queued by node (no socket yet): they go
 * through deliver(), which node orders.
 *
 * The ServerResponse is still ended (node's server needs its 'finish' to dump the request, detach
 * the socket, arm the keep-alive timer and start the next pipelined response), after being told
 * that its head was sent, so that it writes nothing of its own. That sets two fields of node's
 * OutgoingMessage (`_header`, `_headerSent`) and reads three more (`_keepAliveTimeout`,
 * `_defaultKeepAlive`, `_maxRequestsPerSocket`), all unchanged since Node 12;
 * test/integration/hit-fast.test.ts compares its bytes with deliver()'s over real sockets.
 */
import { STATUS_CODES, validateHeaderName, validateHeaderValue, type ServerResponse } from 'node:http'
import type { RequestContext } from '../context.js'
import { currentAgeMs } from '../policy/freshness.js'
import type { CacheEntry } from '../store/types.js'
import { cacheStatusMember, hitFields, lifetimeS } from './deliver.js'

/** The OutgoingMessage fields used here (see above). */
interface NodeResponse {
  _header: string | null
  _headerSent: boolean
  readonly _keepAliveTimeout: number
  readonly _defaultKeepAlive: boolean
  readonly _maxRequestsPerSocket: number | undefined
  readonly maxRequestsOnConnectionReached: boolean | undefined
}

/** An entry's HIT head, for one clientCacheControl and keep-alive timeout. */
interface EntryHead {
  readonly fields: readonly string[]
  readonly keepAliveTimeoutMs: number
  /** The status line and the stored fields; undefined when node must write this entry's head. */
  readonly prefix: string | undefined
  /** Content-Length, Connection, Keep-Alive and the empty line. */
  readonly suffix: string
  /** `<origin's Cache-Status>, ` or ''. */
  readonly upstreamCacheStatus: string
  /** The freshness lifetime in whole seconds (deliver.ts lifetimeS). */
  readonly lifetimeS: number
  /** The head of the second of Age last served, as text (for node's `_header`) and as bytes. */
  ageS: number
  head: string
  headBytes: Buffer
}

const heads = new WeakMap<CacheEntry, EntryHead>()
const EMPTY = Buffer.alloc(0)

let written = 0

/** HITs this process wrote here since it started (the tests tell this path from deliver()'s by it). */
export function plainHitsWritten(): number {
  return written
}

/** Fields node treats specially when it writes a head: an entry that has one is left to node. */
const NODE_MANAGED = new Set(['connection', 'transfer-encoding', 'keep-alive', 'trailer', 'expect', 'content-disposition', 'content-length'])

/**
 * Writes a plain HIT and returns true, or returns false having written nothing (the caller
 * delivers it the usual way). ctx.cacheStatus is 'HIT' either way.
 */
export function writePlainHit(ctx: RequestContext, entry: CacheEntry, now: number): boolean {
  ctx.cacheStatus = 'HIT'
  const { req, res } = ctx
  const method = ctx.method
  const socket = res.socket
  if (
    (method !== 'GET' && method !== 'HEAD') ||
    // Not its turn yet (pipelined behind an answer still under way): node queues it.
    socket === null ||
    socket.destroyed ||
    !socket.writable ||
    !res.shouldKeepAlive ||
    req.httpVersionMinor !== 1 ||
    req.httpVersionMajor !== 1 ||
    entry.status === 204 ||
    entry.status === 304
  ) {
    return false
  }
  const h = req.headers
  if (
    h['if-none-match'] !== undefined ||
    h['if-modified-since'] !== undefined ||
    h['if-match'] !== undefined ||
    h['if-unmodified-since'] !== undefined ||
    h.range !== undefined ||
    // node closes the connection after a final answer to an Expect it did not meet: left to it.
    h.expect !== undefined
  ) {
    return false
  }
  const node = res as ServerResponse & NodeResponse
  if (!node._defaultKeepAlive || (node._maxRequestsPerSocket ?? 0) > 0 || node.maxRequestsOnConnectionReached === true) return false

  const stored = hitFields(ctx, entry)
  let known = heads.get(entry)
  if (known === undefined || known.fields !== stored.fields || known.keepAliveTimeoutMs !== node._keepAliveTimeout) {
    known = entryHead(entry, stored, node._keepAliveTimeout)
    heads.set(entry, known)
  }
  if (known.prefix === undefined) return false
  const ageS = Math.floor(currentAgeMs(entry.initialAgeMs, entry.responseTime, now) / 1000)
  if (known.ageS !== ageS) {
    const cacheStatus = known.upstreamCacheStatus + cacheStatusMember('HIT', known.lifetimeS - ageS)
    known.head = `${known.prefix}age: ${ageS}\r\nx-cache-status: HIT\r\ncache-status: ${cacheStatus}\r\n${known.suffix}`
    known.headBytes = Buffer.from(known.head, 'latin1')
    known.ageS = ageS
  }
  const head = known.head

  if (method === 'HEAD') socket.write(known.headBytes)
  else {
    // One writev of head and body, as node does.
    socket.cork()
    socket.write(known.headBytes)
    socket.write(entry.body)
    socket.uncork()
  }
  // The head is out: end() writes nothing more, and node's server takes over from its 'finish'.
  written++
  res.statusCode = entry.status
  node._header = head
  node._headerSent = true
  res.end()
  return true
}

/** What node's writeHead(status, fields) and end(body) would write, but for the Age and Cache-Status of the second. */
function entryHead(
  entry: CacheEntry,
  stored: { readonly fields: readonly string[]; readonly upstreamCacheStatus: string | undefined },
  keepAliveTimeoutMs: number,
): EntryHead {
  const fields = stored.fields
  const known: EntryHead = {
    fields,
    keepAliveTimeoutMs,
    prefix: undefined,
    suffix: '',
    upstreamCacheStatus: stored.upstreamCacheStatus === undefined ? '' : `${stored.upstreamCacheStatus}, `,
    lifetimeS: lifetimeS(entry),
    ageS: -1,
    head: '',
    headBytes: EMPTY,
  }
  let prefix = `HTTP/1.1 ${entry.status} ${STATUS_CODES[entry.status] ?? 'unknown'}\r\n`
  let hasDate = false
  try {
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i] as string
      const value = fields[i + 1] as string
      const lower = name.toLowerCase()
      if (NODE_MANAGED.has(lower)) return known
      validateHeaderName(name)
      validateHeaderValue(name, value)
      if (lower === 'date') hasDate = true
      prefix += `${name}: ${value}\r\n`
    }
    if (stored.upstreamCacheStatus !== undefined) validateHeaderValue('cache-status', stored.upstreamCacheStatus)
  } catch {
    return known // node would refuse it: deliver() fails the way it always did
  }
  // Without a stored Date node adds its own, a new one every second: left to it.
  if (!hasDate) return known
  let suffix = `content-length: ${entry.body.length}\r\nConnection: keep-alive\r\n`
  // node says Keep-Alive only when the server has a keep-alive timeout.
  if (keepAliveTimeoutMs > 0) suffix += `Keep-Alive: timeout=${Math.floor(keepAliveTimeoutMs / 1000)}\r\n`
  return { ...known, prefix, suffix: `${suffix}\r\n` }
}
