/**
 * `npm run demo`: the example origin on 127.0.0.1:3000 and corral in front of it on :8080
 * (config/demo.yaml), with a few curl lines to try. `npm run demo -- --fleet`: two instances
 * sharing one Redis instead (fleet.ts).
 */
import { fileURLToPath } from 'node:url'
import { loadConfigFile, ConfigError } from '../config/index.js'
import { startGateway } from '../gateway.js'
import { flushLogs } from '../log.js'
import { runFleetDemo } from './fleet.js'
import { DEMO_PATHS, startDemoOrigin } from './origin.js'

const configPath = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url))

async function main(): Promise<void> {
  const config = await loadConfigFile(configPath)
  const upstream = [...config.upstreams.values()][0]
  if (upstream === undefined) throw new Error(`${configPath} has no upstream`)
  const origin = await startDemoOrigin(Number(upstream.url.port), upstream.url.hostname).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`cannot start the demo origin on ${upstream.url.host}: ${err.code ?? err.message}`)
  })
  const gateway = await startGateway(config)
  const base = gateway.urls[0] ?? ''
  const lines = Object.entries(DEMO_PATHS).map(([path, what]) => `  curl -si ${base}${path} | grep -iE '^(HTTP|x-cache-status|cache-status|age)'\n      # ${what}`)
  process.stdout.write(
    `\ncorral demo: origin ${upstream.url.origin}, corral ${base} (config ${configPath})\nTry, more than once:\n${lines.join('\n')}\nCtrl-C stops both.\n\n`,
  )
  const stop = (): void => {
    origin.close()
    void gateway.close().then(() => {
      flushLogs()
      process.exit(0)
    })
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

const demo = process.argv.includes('--fleet') ? runFleetDemo : main

demo().catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof ConfigError || err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
