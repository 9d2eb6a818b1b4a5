/**
 * An origin that writes a response's head and the first part of its body at once, and the rest
 * only when the test says (`finish`): the body is still arriving while the test looks. And a
 * client that reads a response's chunks as they come.
 */
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request, type Dispatcher } from 'undici'

/** An origin that writes the head and the first part of a body, then waits for the test to release the rest. */
export class SlowOrigin {
  hits = 0
  private release: Array<() => void> = []
  private constructor(private readonly server: Server) {}

  static async start(): Promise<SlowOrigin> {
    const server = createServer()
    const origin = new SlowOrigin(server)
    server.on('request', (req, res) => origin.answer(req.url ?? '/', res, req.headers.range))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    return origin
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  /** Write the rest of every body held back (`/broken`: cut its connection instead). */
  finish(): void {
    const pending = this.release
    this.release = []
    for (const go of pending) go()
  }

  get holding(): number {
    return this.release.length
  }

  private answer(url: string, res: ServerResponse, range: string | undefined): void {
    this.hits++
    const [path, query] = url.split('?')
    const first = Number(new URLSearchParams(query).get('first') ?? '6')
    const rest = Number(new URLSearchParams(query).get('rest') ?? '4')
    const headers: Record<string, string> = { 'cache-control': 'max-age=60', etag: '"v1"', 'content-type': 'text/plain' }
    if (path === '/sized') headers['content-length'] = String(first + rest)
    if (range !== undefined) headers['x-origin-saw-range'] = range
    res.writeHead(200, headers)
    res.write('a'.repeat(first))
    this.release.push(() => {
      if (path === '/broken') res.destroy()
      else res.end('b'.repeat(rest))
    })
  }

  close(): Promise<void> {
    this.server.closeAllConnections()
    return new Promise((r) => this.server.close(() => r()))
  }
}

/** A request whose head and body chunks the test reads as they come. */
export async function open(base: string, path: string, headers: Record<string, string> = {}, dispatcher?: Dispatcher) {
  const res = await request(base + path, { headers, dispatcher })
  const chunks: Buffer[] = []
  let failed: Error | undefined
  const ended = new Promise<void>((resolve) => {
    res.body.on('data', (c: Buffer) => chunks.push(c))
    res.body.on('end', () => resolve())
    res.body.on('error', (err: Error) => {
      failed = err
      resolve()
    })
  })
  return {
    status: res.statusCode,
    headers: res.headers,
    /** Bytes received so far. */
    received: () => Buffer.concat(chunks).toString(),
    ended,
    failed: () => failed,
  }
}

export async function until(what: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!what()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 5))
  }
}

