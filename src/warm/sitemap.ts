/**
 * Sitemaps (sitemaps.org): the `<loc>` of every `<url>` of a `<urlset>`, and for a
 * `<sitemapindex>` those of each sitemap it lists (one level: an index inside an index is an
 * error rather than silently nothing). Gzipped sitemaps (`sitemap.xml.gz`) are unpacked.
 *
 * A sitemap given as an absolute URL is fetched from there; one given as a path is fetched
 * through the target (with --host, or the target's host), and so are the sitemaps its index lists.
 */
import { gunzipSync } from 'node:zlib'
import { request, type Dispatcher } from 'undici'

/** Sitemaps may hold 50 MB uncompressed; a little more is tolerated, a runaway answer is not. */
const MAX_BYTES = 64 * 1024 * 1024

export interface SitemapFetch {
  /** where corral listens: a path sitemap is fetched there */
  readonly target: string
  /** the pool to the target, for sitemaps fetched through it */
  readonly pool: Dispatcher
  /** Host for a path sitemap; undefined: the target's */
  readonly host: string | undefined
  readonly headers: Record<string, string>
  readonly timeoutMs: number
}

export interface SitemapDocument {
  readonly kind: 'urlset' | 'sitemapindex'
  readonly locs: string[]
}

/** The page URLs a sitemap (or a sitemap index, one level deep) lists. Throws an Error with one line. */
export async function readSitemap(location: string, how: SitemapFetch): Promise<string[]> {
  const viaTarget = location.startsWith('/')
  const top = await fetchSitemap(location, viaTarget, how)
  if (top.kind === 'urlset') return top.locs
  const urls: string[] = []
  for (const child of top.locs) {
    const doc = await fetchSitemap(child, viaTarget, how)
    if (doc.kind === 'sitemapindex') throw new Error(`--sitemap ${child}: a sitemap index listed in the index ${location} (only one level is followed)`)
    for (const loc of doc.locs) urls.push(loc)
  }
  return urls
}

async function fetchSitemap(location: string, viaTarget: boolean, how: SitemapFetch): Promise<SitemapDocument> {
  let url = location
  const headers: Record<string, string> = { ...how.headers }
  if (viaTarget) {
    // through corral: the path on the target, under the location's own host when it has one
    let host = how.host
    let path = location
    if (!location.startsWith('/')) {
      const parsed = new URL(location)
      host = parsed.host
      path = `${parsed.pathname}${parsed.search}`
    }
    url = `${how.target}${path}`
    if (host !== undefined) headers.host = host
  }
  let body: Buffer
  try {
    const res = await request(url, {
      method: 'GET',
      headers,
      // the target's pool only for the target; anything else with undici's global agent
      ...(viaTarget ? { dispatcher: how.pool } : {}),
      signal: AbortSignal.timeout(how.timeoutMs),
      headersTimeout: how.timeoutMs,
      bodyTimeout: how.timeoutMs,
    })
    if (res.statusCode !== 200) {
      await res.body.dump()
      throw new Error(`HTTP ${res.statusCode}`)
    }
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res.body) {
      const buf = chunk as Buffer
      size += buf.length
      if (size > MAX_BYTES) {
        res.body.destroy()
        throw new Error(`larger than ${MAX_BYTES / 1024 / 1024} MiB`)
      }
      chunks.push(buf)
    }
    body = Buffer.concat(chunks)
  } catch (err) {
    throw new Error(`--sitemap ${location}: ${describeError(err, how.timeoutMs)}`)
  }
  if (body[0] === 0x1f && body[1] === 0x8b) {
    try {
      body = gunzipSync(body, { maxOutputLength: MAX_BYTES })
    } catch (err) {
      throw new Error(`--sitemap ${location}: cannot gunzip it: ${(err as Error).message}`)
    }
  }
  const doc = parseSitemap(body.toString('utf8'))
  if (doc === undefined) throw new Error(`--sitemap ${location}: not a sitemap (no <urlset> or <sitemapindex>)`)
  return doc
}

/** The kind and `<loc>` values of a sitemap document, or undefined when it is not one. */
export function parseSitemap(xml: string): SitemapDocument | undefined {
  const text = xml.replace(/<!--[\s\S]*?-->/g, '')
  const root = /<(?:[\w.-]+:)?(urlset|sitemapindex)[\s>/]/.exec(text)?.[1]
  if (root !== 'urlset' && root !== 'sitemapindex') return undefined
  const locs: string[] = []
  // Only unprefixed <loc>: an image or video sitemap's <image:loc> is not a page to warm.
  for (const m of text.matchAll(/<loc>\s*(?:<!\[CDATA\[([\s\S]*?)\]\]>|([^<]*))\s*<\/loc>/g)) {
    const loc = (m[1] ?? decodeEntities(m[2] ?? '')).trim()
    if (loc !== '') locs.push(loc)
  }
  return { kind: root, locs }
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16))
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10))
    return NAMED[entity] ?? whole
  })
}

/** What went wrong with a request, in a few words. */
export function describeError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: unknown }
  if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `timed out after ${formatMs(timeoutMs)}`
  }
  const cause = e.cause as { code?: string; message?: string } | undefined
  const message = e.message ?? String(err)
  if (cause?.message !== undefined && cause.message !== message) return `${message}: ${cause.message}`
  return message
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
}
