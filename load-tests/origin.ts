/**
 * The stub origin of the load tests, run as a child process (`node --import tsx load-tests/origin.ts`).
 * Every request gets the same JSON body (1 KiB unless told otherwise) with the headers given on
 * the command line, after an optional delay; `GET /__hits` reports how many requests were answered
 * (itself not counted). The `direct` baseline is this same server without corral in front.
 *
 *   --port <n>              port to listen on, on 127.0.0.1 (required)
 *   --cache-control <v>     Cache-Control of every response (none when left out)
 *   --delay-ms <n>          wait this long before answering (default 0)
 *   --body-bytes <n>        size of the body, at least 12 (default 1024)
 *   --chunks <n>            write the body in n parts: the first with the head, then one every
 *                           --chunk-interval-ms (default: the whole body at once, with the head)
 *   --chunk-interval-ms <n> time between two parts (default 0: all at once)
 *   --no-length             no Content-Length: the body is sent chunked (HTTP/1.1)
 *
 * Without --chunks, --chunk-interval-ms and --no-length it answers as it always did: head and body
 * in one write, with Content-Length. It exits when its stdin closes, so that it does not outlive a
 * load test that was killed.
 */
import { createServer, type ServerResponse } from 'node:http'
import { parseArgs } from 'node:util'

const DEFAULT_BODY_BYTES = 1024
const HEAD = '{"data":"'
const TAIL = '"}\n'

/** A JSON document of exactly `bytes` bytes. */
function fixedBody(bytes: number): Buffer {
  return Buffer.from(HEAD + 'x'.repeat(bytes - HEAD.length - TAIL.length) + TAIL)
}

/** `body` cut into `n` parts of nearly equal size (views, no copy). */
function split(body: Buffer, n: number): Buffer[] {
  const parts: Buffer[] = []
  for (let i = 0; i < n; i++) parts.push(body.subarray(Math.floor((i * body.length) / n), Math.floor(((i + 1) * body.length) / n)))
  return parts
}

function numberOption(value: string, flag: string, { min, integer }: { min: number; integer: boolean }): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new Error(`origin: ${flag} must be ${integer ? 'a whole number' : 'a number'} >= ${min}, got "${value}"`)
  }
  return n
}

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'cache-control': { type: 'string' },
      'delay-ms': { type: 'string', default: '0' },
      'body-bytes': { type: 'string', default: String(DEFAULT_BODY_BYTES) },
      chunks: { type: 'string', default: '1' },
      'chunk-interval-ms': { type: 'string', default: '0' },
      'no-length': { type: 'boolean', default: false },
    },
  })
  const port = Number(values.port)
  if (!Number.isInteger(port) || port <= 0) throw new Error(`origin: --port must be a port number, got "${values.port}"`)
  const delayMs = numberOption(values['delay-ms'], '--delay-ms', { min: 0, integer: false })
  const bodyBytes = numberOption(values['body-bytes'], '--body-bytes', { min: HEAD.length + TAIL.length, integer: true })
  const chunks = numberOption(values.chunks, '--chunks', { min: 1, integer: true })
  const intervalMs = numberOption(values['chunk-interval-ms'], '--chunk-interval-ms', { min: 0, integer: false })
  if (chunks > bodyBytes) throw new Error(`origin: --chunks (${chunks}) must not exceed --body-bytes (${bodyBytes})`)

  const body = fixedBody(bodyBytes)
  const parts = split(body, chunks)
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (!values['no-length']) headers['content-length'] = String(body.length)
  if (values['cache-control'] !== undefined) headers['cache-control'] = values['cache-control']

  /** The head and the first part now, then the others `intervalMs` apart (all at once when 0). */
  const answer = (res: ServerResponse): void => {
    res.writeHead(200, headers)
    if (parts.length === 1) {
      res.end(body)
      return
    }
    if (intervalMs === 0) {
      for (const part of parts.slice(0, -1)) res.write(part)
      res.end(parts.at(-1))
      return
    }
    res.write(parts[0])
    let next = 1
    const timer = setInterval(() => {
      if (next === parts.length - 1) {
        clearInterval(timer)
        res.end(parts[next])
      } else {
        res.write(parts[next])
      }
      next++
    }, intervalMs)
    // A client that went away: stop writing to it.
    res.once('close', () => clearInterval(timer))
  }

  let hits = 0
  const server = createServer((req, res) => {
    if (req.url === '/__hits') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify({ hits }))
      return
    }
    hits++
    // Drain a request body (POST in the bypass scenario) before answering.
    req.resume()
    if (delayMs === 0) answer(res)
    else setTimeout(() => answer(res), delayMs)
  })
  server.listen(port, '127.0.0.1')

  process.stdin.on('end', () => process.exit(0))
  process.stdin.resume()
  process.on('SIGTERM', () => process.exit(0))
}

main()
