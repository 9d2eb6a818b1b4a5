/**
 * A bare http-proxy-3 reverse proxy (keep-alive agent, X-Forwarded-*), the floor of what a
 * pass-through hop costs in Node on this machine: the bypass scenario's second baseline.
 * Usage: node --import tsx load-tests/bare-proxy.ts --port <n> --target <url>
 */
import { Agent, createServer } from 'node:http'
import { parseArgs } from 'node:util'
import { createProxyServer } from 'http-proxy-3'

const { values } = parseArgs({ options: { port: { type: 'string' }, target: { type: 'string' } } })
const target = new URL(values.target ?? 'http://127.0.0.1:3000')
const agent = new Agent({ keepAlive: true, maxSockets: 256 })
const proxy = createProxyServer({ xfwd: true, changeOrigin: true })
const server = createServer((req, res) => {
  proxy.web(req, res, { target, agent }, () => {
    res.statusCode = 502
    res.end()
  })
})
server.listen(Number(values.port), '127.0.0.1')
// Like the stub origin: go away when the runner does.
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
