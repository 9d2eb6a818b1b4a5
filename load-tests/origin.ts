/**
 * The stub origin of the load tests, run as a child process (`node --import tsx load-tests/origin.ts`).
 * Every request gets the same 1 KiB JSON body with the headers given on the command line, after
 * an optional delay; `GET /__hits` reports how many requests were answered (itself not counted).
 * The `direct` baseline is this same server without corral in front.
 *
 *   --port <n>              port to listen on, on 127.0.0.1 (required)
 *   --cache-control <v>     Cache-Control of every response (none when left out)
 *   --delay-ms <n>          wait this long before answering (default 0)
 *
 * It exits when its stdin closes, so that it does not outlive a load test that was killed.
 */
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'

const BODY_BYTES = 1024

/** A JSON document of exactly BODY_BYTES bytes. */
function fixedBody(): Buffer {
  const head = '{"data":"'
  const tail = '"}\n'
  return Buffer.from(head + 'x'.repeat(BODY_BYTES - head.length - tail.length) + tail)
}

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'cache-control': { type: 'string' },
      'delay-ms': { type: 'string', default: '0' },
    },
  })
  const port = Number(values.port)
  const delayMs = Number(values['delay-ms'])
  if (!Number.isInteger(port) || port <= 0) throw new Error(`origin: --port must be a port number, got "${values.port}"`)
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new Error(`origin: --delay-ms must be >= 0, got "${values['delay-ms']}"`)

  const body = fixedBody()
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(body.length),
  }
  if (values['cache-control'] !== undefined) headers['cache-control'] = values['cache-control']

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
    if (delayMs === 0) {
      res.writeHead(200, headers)
      res.end(body)
      return
    }
    setTimeout(() => {
      res.writeHead(200, headers)
      res.end(body)
    }, delayMs)
  })
  server.listen(port, '127.0.0.1')

  process.stdin.on('end', () => process.exit(0))
  process.stdin.resume()
  process.on('SIGTERM', () => process.exit(0))
}

main()
