/**
 * The floor of a hit served from Redis in Node on this machine: a bare node:http server that
 * answers every request with a value it GETs from Redis (ioredis, as corral uses it), one 1 KiB
 * body plus about as much metadata as corral's record carries. The l2-hit scenario's baseline.
 * Usage: node --import tsx load-tests/bare-redis.ts --port <n> --redis <url>
 */
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'

const { values } = parseArgs({ options: { port: { type: 'string' }, redis: { type: 'string' } } })
const redis = new Redis(values.redis ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true, commandTimeout: 250 })
const KEY = `bare-redis:${process.pid}`
const META = 400

await redis.set(KEY, Buffer.concat([Buffer.alloc(META, 32), Buffer.from('{"id":1,"items":"' + 'x'.repeat(1_000) + '"}')]))
const server = createServer((_req, res) => {
  redis.getBuffer(KEY).then(
    (value) => {
      const body = value === null ? Buffer.alloc(0) : value.subarray(META)
      res.writeHead(200, ['content-type', 'application/json', 'content-length', String(body.length)])
      res.end(body)
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
