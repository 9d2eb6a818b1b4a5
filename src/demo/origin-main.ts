/**
 * The demo origin on its own, for docker-compose.yml: `node dist/demo/origin-main.js` listens on
 * 0.0.0.0:3000 (DEMO_ORIGIN_HOST, DEMO_ORIGIN_PORT) and prints one line per request it gets,
 * with the running count, so `docker compose logs origin` shows how few reach it.
 */
import { describeOriginHit, startDemoOrigin } from './origin.js'

const host = process.env.DEMO_ORIGIN_HOST || '0.0.0.0'
const port = Number(process.env.DEMO_ORIGIN_PORT || 3000)

async function main(): Promise<void> {
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`DEMO_ORIGIN_PORT: expected a port number, got "${process.env.DEMO_ORIGIN_PORT}"`)
  const server = await startDemoOrigin(port, host, {
    onRequest: (hit) => process.stdout.write(`${new Date().toISOString()} ${describeOriginHit(hit)}\n`),
  })
  process.stdout.write(`demo origin listening on http://${host}:${port}\n`)
  // As PID 1 in a container, node gets no default handling of SIGTERM: stop explicitly.
  const stop = (): void => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

main().catch((err: unknown) => {
  process.stderr.write(`demo origin: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
