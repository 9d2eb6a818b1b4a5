/**
 * `npm run demo`: the example origin on 127.0.0.1:3000 and corral in front of it on :8080
 * (config/demo.yaml), with a few curl lines to try. `npm run demo -- --fleet`: two instances
 * sharing one Redis instead (fleet.ts). Ports: `--port` / DEMO_PORT and `--origin-port` /
 * DEMO_ORIGIN_PORT; a default port that is taken gives way to a free one (options.ts).
 */
import { randomBytes } from 'node:crypto'
import type { Server } from 'node:http'
import { LocalBackend } from '../admin/backend.js'
import { startAdmin, type AdminServer } from '../admin/server.js'
import { fileURLToPath } from 'node:url'
import { loadConfigFile } from '../config/index.js'
import { GatewayError } from '../errors.js'
import { startGateway, type Gateway } from '../gateway.js'
import { flushLogs } from '../log.js'
import { runFleetDemo } from './fleet.js'
import { DEMO_USAGE, demoOptions, listenOn, listenProblem, portOf, stopWithParent, type DemoOptions } from './options.js'
import { DEMO_PATHS, startDemoOrigin } from './origin.js'

const configPath = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url))
/** After a stop signal, give up on a graceful stop after this long. */
const STOP_TIMEOUT_MS = 10_000

async function main(options: DemoOptions): Promise<void> {
  // A token of this run only: the demo's admin API is on loopback, and shows how purge is called.
  const token = randomBytes(16).toString('hex')
  // Set up first: a signal while starting must still stop what has started.
  const running: { origin?: Server; gateway?: Gateway; admin?: AdminServer } = {}
  let stopping = false
  const stop = (): void => {
    // npm forwards the terminal's Ctrl-C to the process that already got it: one stop is enough.
    if (stopping) return
    stopping = true
    setTimeout(() => {
      process.stderr.write(`demo: still stopping after ${STOP_TIMEOUT_MS / 1000} s; exiting anyway\n`)
      exit(1)
    }, STOP_TIMEOUT_MS).unref()
    running.origin?.close()
    running.origin?.closeAllConnections()
    void Promise.all([running.admin?.close(), running.gateway?.close()]).then(() => exit(0))
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop)
  stopWithParent(stop)

  const notes: string[] = []
  const note = (text: string): void => void notes.push(text)
  const origin = await listenOn(options.origin, 'the origin', (port) => startDemoOrigin(port, '127.0.0.1'), note).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`the demo origin cannot listen on 127.0.0.1:${options.origin.port}: ${listenProblem(err)}; choose another port with --origin-port or DEMO_ORIGIN_PORT`)
  })
  running.origin = origin
  const originUrl = `http://127.0.0.1:${portOf(origin.address())}`
  const gateway = await listenOn(
    options.corral,
    'corral',
    async (port) => startGateway(await loadConfigFile(configPath, { port, upstream: originUrl, adminToken: token })),
    note,
  ).catch((err: unknown) => {
    if (err instanceof GatewayError && err.code === 'CORRAL_ERR_LISTEN') throw new Error(`${err.message}; choose another port with --port or DEMO_PORT`)
    throw err
  })
  running.gateway = gateway
  const rt = gateway.runtime
  const admin = await listenOn(
    { port: rt.config.admin.port, explicit: false },
    'the admin API',
    (port) => startAdmin({ settings: () => ({ ...rt.config.admin, port }), backend: new LocalBackend(rt, undefined), log: rt.log.root }),
    note,
  )
  running.admin = admin
  if (stopping) return
  const base = gateway.urls[0] ?? ''
  const lines = Object.entries(DEMO_PATHS).map(([path, what]) => `  curl -si ${base}${path} | grep -iE '^(HTTP|x-cache-status|cache-status|age)'\n      # ${what}`)
  process.stdout.write(
    [
      '',
      `corral demo: origin ${originUrl}, corral ${base} (config ${configPath})`,
      ...notes.map((text) => `  (${text})`),
      'Try, more than once:',
      ...lines,
      `The admin API (token ${token}):`,
      `  open ${admin.url}/ in a browser            # the live status page`,
      `  curl -s ${admin.url}/metrics | grep corral_requests_total`,
      `  curl -s -H 'Authorization: Bearer ${token}' '${admin.url}/explain?url=${base}/products'`,
      `  curl -s -H 'Authorization: Bearer ${token}' -d '{"url": "/products"}' ${admin.url}/purge`,
      'Ctrl-C stops it all.',
      '',
      '',
    ].join('\n'),
  )
}

function exit(code: number): void {
  flushLogs()
  process.exit(code)
}

let options: DemoOptions | 'help'
try {
  options = demoOptions(process.argv.slice(2), process.env)
} catch (err) {
  process.stderr.write(`demo: ${(err as Error).message}\n`)
  process.exit(2)
}
if (options === 'help') {
  process.stdout.write(DEMO_USAGE)
} else {
  const demo = options.fleet ? runFleetDemo : main
  demo(options).catch((err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`)
    exit(1)
  })
}
