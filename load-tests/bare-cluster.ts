/**
 * A bare node:http server answering every request with the stub origin's bytes (origin.ts: the
 * same 1 KiB JSON body, content-type, content-length, node's date and the cache-control given),
 * in one process or in n worker processes sharing the port through node:cluster, as corral's
 * `--workers n` does. The floor of what Node can do for a cache hit: `hit-nginx`'s baseline.
 *
 *   node --import tsx load-tests/bare-cluster.ts --port <n> [--workers <n>] [--cache-control <v>]
 *
 * It exits when its stdin closes (the primary; its workers with it), so that it does not outlive
 * a load test that was killed.
 */
import cluster from 'node:cluster'
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'

const BODY_BYTES = 1024

function fixedBody(): Buffer {
  const head = '{"data":"'
  const tail = '"}\n'
  return Buffer.from(head + 'x'.repeat(BODY_BYTES - head.length - tail.length) + tail)
}

function serve(port: number, cacheControl: string | undefined): void {
  const body = fixedBody()
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(body.length) }
  if (cacheControl !== undefined) headers['cache-control'] = cacheControl
  createServer((req, res) => {
    req.resume()
    res.writeHead(200, headers)
    res.end(body)
  }).listen(port, '127.0.0.1')
}

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      workers: { type: 'string', default: '1' },
      'cache-control': { type: 'string' },
    },
  })
  const port = Number(values.port)
  const workers = Number(values.workers)
  if (!Number.isInteger(port) || port <= 0) throw new Error(`bare-cluster: --port must be a port number, got "${values.port}"`)
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`bare-cluster: --workers must be >= 1, got "${values.workers}"`)

  if (cluster.isWorker) {
    serve(port, values['cache-control'])
    process.on('disconnect', () => process.exit(0))
    return
  }
  if (workers === 1) serve(port, values['cache-control'])
  else for (let i = 0; i < workers; i++) cluster.fork()
  const stop = (): void => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL')
    process.exit(0)
  }
  process.stdin.on('end', stop)
  process.stdin.resume()
  process.on('SIGTERM', stop)
}

main()
