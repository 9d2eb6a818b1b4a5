/**
 * A bare undici hop: a minimal node:http server forwarding every request to one origin through an
 * undici Pool (hop-by-hop fields dropped both ways, the body piped back), the floor of what a
 * Node proxy hop built on undici costs on this machine: the uncacheable scenario's second baseline.
 * Usage: node --import tsx load-tests/bare-undici.ts --port <n> --target <url>
 */
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'

const { values } = parseArgs({ options: { port: { type: 'string' }, target: { type: 'string' } } })
const pool = new Pool(values.target ?? 'http://127.0.0.1:3000', { connections: 256 })
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host'])

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const name in headers) {
    const value = headers[name]
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value
  }
  return out
}

const server = createServer((req, res) => {
  const bodiless = req.method === 'GET' || req.method === 'HEAD'
  pool
    .request({ method: req.method as 'GET', path: req.url ?? '/', headers: forwardable(req.headers), body: bodiless ? null : req })
    .then(
      ({ statusCode, headers, body }) => {
        res.writeHead(statusCode, forwardable(headers))
        body.pipe(res)
      },
      () => {
        res.statusCode = 502
        res.end()
      },
    )
})
server.listen(Number(values.port), '127.0.0.1')
// Like the stub origin: go away when the runner does.
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
