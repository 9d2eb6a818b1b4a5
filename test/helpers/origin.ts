/**
 * A real HTTP origin on loopback for the tests: programmable replies per path, a hit counter,
 * the requests it saw, and a gate that holds responses until the test opens it.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'

export interface Reply {
  status?: number
  headers?: Record<string, string | string[] | undefined>
  body?: string | Buffer
  /** Write the body in this many chunks, without Content-Length (chunked encoding). */
  chunks?: number
  /** Wait this long before answering. */
  delayMs?: number
  /** Send a 102 Processing first. */
  processing?: boolean
  /** Send a 103 Early Hints with these fields first. */
  earlyHints?: Record<string, string>
  /** Destroy the socket instead of answering. */
  hangUp?: boolean
  /** Declare the whole body's Content-Length, send half of it, then destroy the socket. */
  breakOff?: boolean
}

export interface SeenRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

type Handler = (req: SeenRequest, n: number) => Reply

export class Origin {
  hits = 0
  readonly seen: SeenRequest[] = []
  private readonly handlers = new Map<string, Handler>()
  private readonly upgraded = new Set<Duplex>()
  private fallback: Handler = () => ({ status: 200, body: 'ok' })
  private gated: Promise<void> | undefined
  private openGate: (() => void) | undefined
  private waiting = 0

  private constructor(private readonly server: Server) {}

  static async start(): Promise<Origin> {
    const server = createServer()
    const origin = new Origin(server)
    server.on('request', (req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const seen: SeenRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        }
        void origin.answer(seen, res)
      })
    })
    // A minimal WebSocket-ish peer: accept any upgrade, then echo raw bytes back prefixed 'echo:'.
    server.on('upgrade', (_req, socket: Duplex) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n')
      socket.on('data', (d: Buffer) => socket.write(`echo:${d.toString()}`))
      socket.on('end', () => socket.end())
      socket.on('error', () => socket.destroy())
      origin.upgraded.add(socket)
      socket.on('close', () => origin.upgraded.delete(socket))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return origin
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  /** Hits on one path (query ignored). */
  hitsOn(path: string): number {
    return this.seen.filter((r) => r.url.split('?')[0] === path).length
  }

  /** Reply to `path` (exact, query ignored) with this, or with what the function returns for the n-th hit on it. */
  on(path: string, reply: Reply | Handler): this {
    this.handlers.set(path, typeof reply === 'function' ? reply : () => reply)
    return this
  }

  otherwise(reply: Reply | Handler): this {
    this.fallback = typeof reply === 'function' ? reply : () => reply
    return this
  }

  /** Hold every response until the returned function is called. */
  closeGate(): () => void {
    this.gated = new Promise((resolve) => (this.openGate = resolve))
    return () => {
      this.gated = undefined
      this.openGate?.()
    }
  }

  /** Requests held at the gate right now. */
  get held(): number {
    return this.waiting
  }

  reset(): void {
    this.hits = 0
    this.seen.length = 0
    this.handlers.clear()
    this.fallback = () => ({ status: 200, body: 'ok' })
  }

  async close(): Promise<void> {
    this.openGate?.()
    for (const socket of this.upgraded) socket.destroy()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private async answer(seen: SeenRequest, res: ServerResponse): Promise<void> {
    this.hits++
    this.seen.push(seen)
    const path = seen.url.split('?')[0] ?? ''
    const handler = this.handlers.get(path) ?? this.fallback
    const n = this.seen.filter((r) => r.url.split('?')[0] === path).length
    const reply = handler(seen, n)
    if (this.gated !== undefined) {
      this.waiting++
      await this.gated
      this.waiting--
    }
    if (reply.processing === true) res.writeProcessing()
    if (reply.earlyHints !== undefined) res.writeEarlyHints(reply.earlyHints)
    if (reply.delayMs !== undefined) await new Promise((r) => setTimeout(r, reply.delayMs))
    if (reply.hangUp === true) {
      res.socket?.destroy()
      return
    }
    const body = reply.body ?? ''
    // node caches its Date header for a second by the real clock; tests move a fake one.
    const headers: Record<string, string | string[]> = { date: new Date().toUTCString() }
    for (const [name, value] of Object.entries(reply.headers ?? {})) if (value !== undefined) headers[name] = value
    if (reply.chunks !== undefined) {
      res.writeHead(reply.status ?? 200, headers)
      const buf = Buffer.from(body)
      const size = Math.ceil(buf.length / reply.chunks)
      for (let i = 0; i < buf.length; i += size) res.write(buf.subarray(i, i + size))
      res.end()
      return
    }
    if (!('content-length' in headers)) headers['content-length'] = String(Buffer.byteLength(body))
    if (reply.breakOff === true) {
      res.writeHead(reply.status ?? 200, headers)
      const buf = Buffer.from(body)
      res.write(buf.subarray(0, buf.length >> 1), () => res.socket?.destroy())
      return
    }
    res.writeHead(reply.status ?? 200, headers)
    res.end(seen.method === 'HEAD' ? undefined : body)
  }
}
