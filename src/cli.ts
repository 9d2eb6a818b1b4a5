#!/usr/bin/env node
/**
 * corral's command line: run with a config file or in quick mode in front of one upstream,
 * or check a config file. Flags beat environment variables, which beat the file.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { ConfigError, describeConfig, loadConfigFile, quickConfig, type Overrides } from './config/index.js'
import type { Config, LogLevel } from './config/types.js'
import cluster from 'node:cluster'
import { startGateway, type Gateway } from './gateway.js'
import { createLogger, flushLogs, GatewayLog } from './log.js'
import { runPrimary } from './workers/primary.js'
import { startWorker } from './workers/worker.js'

const HELP = `corral — a caching reverse proxy for HTTP APIs

Usage:
  corral --upstream <url> [--port <n>] [--host <addr>]   front one origin; its caching headers decide
  corral --config <file> [--port <n>] [--upstream <url>]  run a full configuration
  corral check <file>                                     validate a config file and print the compiled routes
  corral --help | --version

Options:
  -c, --config <file>     YAML configuration (see docs/configuration.md)
  -u, --upstream <url>    origin URL; with --config it replaces the upstream named "default"
                          (or the only one)
  -p, --port <n>          port of the (first) listener            [8080]
      --host <addr>       address of the (first) listener         [0.0.0.0]
  -l, --log-level <lvl>   fatal|error|warn|info|debug|trace|silent [info]
      --redis <url>       fleet mode: share the cache and the fill lock with every instance
                          using this Redis (redis://[user:pass@]host:port[/db], rediss:// for TLS)
  -w, --workers <n>       worker processes sharing the port: a number, or auto (one per core) [1]
  -h, --help              this text
  -v, --version           the version

Environment (flags win over these, these win over the file):
  CORRAL_CONFIG   CORRAL_PORT   CORRAL_UPSTREAM   CORRAL_LOG_LEVEL   CORRAL_REDIS_URL   CORRAL_WORKERS

Examples:
  corral --upstream http://127.0.0.1:3000 --port 8080
  corral --upstream http://127.0.0.1:3000 --redis redis://127.0.0.1:6379
  corral --upstream http://127.0.0.1:3000 --workers auto
  corral --config config/corral.yaml
  corral check config/corral.yaml
`

const LEVELS = new Set<string>(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

function fail(message: string): never {
  process.stderr.write(`corral: ${message}\n`)
  process.exit(2)
}

function parsePort(value: string | undefined, from: string): number | undefined {
  if (value === undefined || value === '') return undefined
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`${from}: expected a port number 0-65535, got "${value}"`)
  return port
}

function parseLevel(value: string | undefined, from: string): LogLevel | undefined {
  if (value === undefined || value === '') return undefined
  if (!LEVELS.has(value)) fail(`${from}: expected one of ${[...LEVELS].join('|')}, got "${value}"`)
  return value as LogLevel
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

async function main(argv: string[]): Promise<void> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        upstream: { type: 'string', short: 'u' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        'log-level': { type: 'string', short: 'l' },
        redis: { type: 'string' },
        workers: { type: 'string', short: 'w' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    })
  } catch (err) {
    fail(`${(err as Error).message}\n(see corral --help)`)
  }
  const { values, positionals } = parsed
  if (values.help === true) {
    process.stdout.write(HELP)
    return
  }
  if (values.version === true) {
    process.stdout.write(`${version()}\n`)
    return
  }

  if (positionals[0] === 'check') {
    const file = positionals[1] ?? values.config
    if (file === undefined) fail('check: name the config file (corral check config/corral.yaml)')
    const config = await loadOrExit(() => loadConfigFile(file))
    process.stdout.write(`${file}: OK\n${describeConfig(config)}\n`)
    return
  }
  if (positionals.length > 0) fail(`unexpected argument "${positionals[0]}" (see corral --help)`)

  const env = process.env
  const overrides: Overrides = {
    port: parsePort(values.port, '--port') ?? parsePort(env.CORRAL_PORT, 'CORRAL_PORT'),
    host: values.host,
    upstream: values.upstream ?? (env.CORRAL_UPSTREAM || undefined),
    logLevel: parseLevel(values['log-level'], '--log-level') ?? parseLevel(env.CORRAL_LOG_LEVEL, 'CORRAL_LOG_LEVEL'),
    redis: values.redis ?? (env.CORRAL_REDIS_URL || undefined),
    workers: values.workers ?? (env.CORRAL_WORKERS || undefined),
  }
  const file = values.config ?? (env.CORRAL_CONFIG || undefined)
  let config: Config
  if (file !== undefined) {
    config = await loadOrExit(() => loadConfigFile(file, overrides))
  } else if (overrides.upstream !== undefined) {
    const upstream = overrides.upstream
    config = await loadOrExit(() => Promise.resolve(quickConfig({ ...overrides, upstream })))
  } else {
    fail('nothing to front: give --upstream <url> or --config <file> (see corral --help)')
  }

  if (config.server.workers > 1 && cluster.isPrimary) {
    runPrimaryUntilStopped(config)
    return
  }

  let gateway: Gateway | undefined
  let stopping = false
  const stop = (why: string): void => {
    if (stopping) return
    stopping = true
    gateway?.runtime.log.root.info({ signal: why }, 'stopping')
    ;(gateway?.close() ?? Promise.resolve())
      .then(() => exit(0))
      .catch(() => exit(1))
  }
  if (cluster.isWorker) {
    // Ctrl-C reaches every process of the group, and the primary says "shutdown" too: one drain.
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
    gateway = await startWorker(config, () => stop('shutdown'))
    return
  }
  gateway = await startGateway(config)
  const signalled = (signal: string): void => {
    if (stopping) exit(1) // a second signal: stop now
    stop(signal)
  }
  process.on('SIGTERM', () => signalled('SIGTERM'))
  process.on('SIGINT', () => signalled('SIGINT'))
}

/** The primary of `--workers N`: it forks the workers, and on a signal drains them all. */
function runPrimaryUntilStopped(config: Config): void {
  const log = new GatewayLog(createLogger(config.log), false)
  const primary = runPrimary(config, log)
  let signals = 0
  const stop = (signal: string): void => {
    if (++signals > 1) {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL')
      exit(1)
    }
    log.root.info({ signal }, 'stopping: draining the workers')
    primary.stop()
    void primary.stopped.then(() => {
      log.stopped()
      exit(0)
    })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

function exit(code: number): never {
  flushLogs()
  process.exit(code)
}

async function loadOrExit(load: () => Promise<Config>): Promise<Config> {
  try {
    return await load()
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message)
    throw err
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`corral: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
