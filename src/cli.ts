#!/usr/bin/env node
/**
 * corral's command line: run with a config file or in quick mode in front of one upstream,
 * or check a config file. Flags beat environment variables, which beat the file.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { ConfigError, describeConfig, loadConfigFile, quickConfig, type Overrides } from './config/index.js'
import { closest } from './config/suggest.js'
import type { Config, LogLevel } from './config/types.js'
import cluster from 'node:cluster'
import { GatewayError } from './errors.js'
import { startGateway, type Gateway } from './gateway.js'
import { checkHealth, removePortFile, writePortFile } from './health.js'
import { createLogger, flushLogs, GatewayLog } from './log.js'
import { runPrimary, STARTUP_FAILURE_EXIT_CODE } from './workers/primary.js'
import { startWorker } from './workers/worker.js'
import { runPurge } from './commands/purge.js'
import { AdminError, LocalBackend, type ReloadOutcome } from './admin/backend.js'
import { startAdmin, type AdminServer } from './admin/server.js'
import { reloadRuntime, type ConfigLoader } from './reload.js'
import { runSchema } from './commands/schema.js'
import { runWarm } from './commands/warm.js'

const HELP = `corral — a caching reverse proxy for HTTP APIs

Usage:
  corral --upstream <url> [--port <n>] [--host <addr>]   front one origin; its caching headers decide
  corral --config <file> [--port <n>] [--upstream <url>]  run a full configuration
  corral check <file>                                     validate a config file and print the compiled routes
  corral health [--port-file <file>]                      exit 0 when every listener of a running corral
                                                          accepts connections, 1 if not (a container health check)
  corral purge --url <url> | --prefix <url> | --tag <t> | --all [--soft]
                                                          purge a running corral through its admin API
  corral warm --file <urls.txt> | --sitemap <url> | -     fetch URLs through a running corral (after a deploy)
  corral schema [--out <file>]                            print the JSON Schema of the config file (for editors),
                                                          or write it to <file>
  (each takes --help)
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
      --admin-port <n>    port of the admin listener (purge, metrics, health, reload, explain);
                          0 turns it off                          [9090, on 127.0.0.1]
      --port-file <file>  write the address of each listener there (host:port, one a line) once
                          listening, and remove it on a clean stop; read by corral health
  -h, --help              this text
  -v, --version           the version

Environment (flags win over these, these win over the file):
  CORRAL_CONFIG   CORRAL_PORT   CORRAL_UPSTREAM   CORRAL_LOG_LEVEL   CORRAL_REDIS_URL   CORRAL_WORKERS
  CORRAL_PORT_FILE   CORRAL_ADMIN_PORT   CORRAL_ADMIN_TOKEN (the admin API's bearer token)
  CORRAL_ADMIN_URL (corral purge)   CORRAL_WARM_TARGET (corral warm)

Examples:
  corral --upstream http://127.0.0.1:3000 --port 8080
  corral --upstream http://127.0.0.1:3000 --redis redis://127.0.0.1:6379
  corral --upstream http://127.0.0.1:3000 --workers auto
  corral --config config/corral.yaml
  corral check config/corral.yaml
`

const LEVELS = new Set<string>(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  upstream: { type: 'string', short: 'u' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  'log-level': { type: 'string', short: 'l' },
  redis: { type: 'string' },
  workers: { type: 'string', short: 'w' },
  'port-file': { type: 'string' },
  'admin-port': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const

const COMMANDS = ['check', 'health', 'warm', 'schema', 'purge']

function fail(message: string): never {
  process.stderr.write(`corral: ${message}\n`)
  process.exit(STARTUP_FAILURE_EXIT_CODE)
}

/** parseArgs' complaint in one line, with the option meant when a long one is misspelt. */
function argsProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1]
  if (unknown === undefined) return `${message} (see corral --help)`
  const near = unknown.startsWith('--') ? closest(unknown.slice(2), Object.keys(OPTIONS)) : undefined
  return `unknown option '${unknown}' ${near === undefined ? '(see corral --help)' : `(did you mean --${near}?)`}`
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

/** Commands with options of their own: each parses the rest of the command line itself. */
const SUBCOMMANDS: Record<string, (args: readonly string[]) => Promise<number>> = {
  warm: runWarm,
  schema: runSchema,
  purge: runPurge,
}

async function main(argv: string[]): Promise<void> {
  const subcommand = argv[0] === undefined ? undefined : SUBCOMMANDS[argv[0]]
  if (subcommand !== undefined) exit(await subcommand(argv.slice(1)))
  let parsed
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS })
  } catch (err) {
    fail(argsProblem(err))
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
  const env = process.env
  const portFile = values['port-file'] ?? (env.CORRAL_PORT_FILE || undefined)
  if (positionals[0] === 'health') await health(portFile)
  if (positionals[0] !== undefined) {
    const near = closest(positionals[0], COMMANDS)
    fail(`unexpected argument "${positionals[0]}" ${near === undefined ? '(see corral --help)' : `(did you mean "${near}"?)`}`)
  }

  const overrides: Overrides = {
    port: parsePort(values.port, '--port') ?? parsePort(env.CORRAL_PORT, 'CORRAL_PORT'),
    host: values.host,
    upstream: values.upstream ?? (env.CORRAL_UPSTREAM || undefined),
    logLevel: parseLevel(values['log-level'], '--log-level') ?? parseLevel(env.CORRAL_LOG_LEVEL, 'CORRAL_LOG_LEVEL'),
    redis: values.redis ?? (env.CORRAL_REDIS_URL || undefined),
    workers: values.workers ?? (env.CORRAL_WORKERS || undefined),
    adminPort: parsePort(values['admin-port'], '--admin-port') ?? parsePort(env.CORRAL_ADMIN_PORT, 'CORRAL_ADMIN_PORT'),
    adminToken: env.CORRAL_ADMIN_TOKEN || undefined,
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

  const loader: ConfigLoader | undefined = file === undefined ? undefined : () => loadConfigFile(file, overrides)
  if (config.server.workers > 1 && cluster.isPrimary) {
    runPrimaryUntilStopped(config, portFile, loader)
    return
  }

  let gateway: Gateway | undefined
  let admin: AdminServer | undefined
  let stopping = false
  const stop = (why: string): void => {
    if (stopping) return
    stopping = true
    gateway?.runtime.log.root.info({ signal: why }, 'stopping')
    if (portFile !== undefined && !cluster.isWorker) removePortFile(portFile)
    Promise.all([admin?.close(), gateway?.close()])
      .then(() => exit(0))
      .catch(() => exit(1))
  }
  if (cluster.isWorker) {
    // Ctrl-C reaches every process of the group, and the primary says "shutdown" too: one drain.
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
    // A terminal hangup reaches every process of the group too: the primary says it is ignored.
    process.on('SIGHUP', () => undefined)
    // The primary reports a listener that cannot be opened, once for all the workers.
    try {
      gateway = await startWorker(config, () => stop('shutdown'), loader)
    } catch (err) {
      if (isListenError(err)) exit(STARTUP_FAILURE_EXIT_CODE)
      throw err
    }
    return
  }
  // Until the gateway listens there is nothing to reload; SIGHUP must not stop corral meanwhile.
  let reload: (() => Promise<ReloadOutcome>) | undefined
  process.on('SIGHUP', () => onSighup(reload, gateway?.runtime.log))
  let started: Gateway
  try {
    started = await startGateway(config)
  } catch (err) {
    if (isListenError(err)) fail(err.message)
    throw err
  }
  gateway = started
  const rt = started.runtime
  if (loader !== undefined) reload = () => reloadRuntime(rt, loader)
  if (config.admin.port > 0) {
    try {
      admin = await startAdmin({ settings: () => rt.config.admin, backend: new LocalBackend(rt, reload), log: rt.log.root })
    } catch (err) {
      await started.close()
      if (isListenError(err)) fail(err.message)
      throw err
    }
  }
  if (portFile !== undefined) {
    try {
      writePortFile(portFile, started.urls, admin?.url)
    } catch (err) {
      await started.close()
      fail(`--port-file: cannot write ${portFile}: ${(err as Error).message}`)
    }
  }
  const signalled = (signal: string): void => {
    if (stopping) exit(1) // a second signal: stop now
    stop(signal)
  }
  process.on('SIGTERM', () => signalled('SIGTERM'))
  process.on('SIGINT', () => signalled('SIGINT'))
}

/**
 * The primary of `--workers N`: it forks the workers, and on a signal drains them all. When the
 * workers cannot start (a port in use), it stops them and exits like a single process would.
 */
function runPrimaryUntilStopped(config: Config, portFile: string | undefined, loader: ConfigLoader | undefined): void {
  const log = new GatewayLog(createLogger(config.log), false)
  const primary = runPrimary(config, log, loader)
  let signals = 0
  let admin: AdminServer | undefined
  let adminFailed: string | undefined
  const adminStarted =
    config.admin.port === 0
      ? Promise.resolve(undefined)
      : startAdmin({ settings: () => primary.config.current.admin, backend: primary.admin, log: log.root }).then(
          (server) => (admin = server),
          (err: unknown) => {
            adminFailed = err instanceof Error ? err.message : String(err)
            stop('admin-listener')
            return undefined
          },
        )
  void primary.stopped.then(async (gaveUp) => {
    await admin?.close()
    if (portFile !== undefined) removePortFile(portFile)
    const why = gaveUp ?? adminFailed
    if (why !== undefined) {
      flushLogs()
      fail(why)
    }
    log.stopped()
    exit(0)
  })
  void Promise.all([primary.listening, adminStarted]).then(([urls, adminServer]) => {
    if (portFile === undefined) return
    try {
      writePortFile(portFile, urls, adminServer?.url)
    } catch (err) {
      log.root.error({ err }, `--port-file: cannot write ${portFile}`)
      stop('port-file')
    }
  })
  const stop = (signal: string): void => {
    if (++signals > 1) {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL')
      exit(1)
    }
    log.root.info({ signal }, 'stopping: draining the workers')
    primary.stop()
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGHUP', () => onSighup(() => primary.admin.call({ op: 'reload' }) as Promise<ReloadOutcome>, log))
}

/** SIGHUP: reload, and say in the log what came of it (the admin API's POST /reload answers the caller instead). */
function onSighup(reload: (() => Promise<ReloadOutcome>) | undefined, log: GatewayLog | undefined): void {
  const say = (level: 'info' | 'warn' | 'error', fields: object, message: string): void => {
    if (log !== undefined) log.root[level](fields, message)
    else process.stderr.write(`corral: ${message}\n`)
  }
  if (reload === undefined) {
    say('warn', { signal: 'SIGHUP' }, log === undefined ? 'SIGHUP: not listening yet; ignored' : 'SIGHUP: no config file to re-read (quick mode); ignored')
    return
  }
  reload().then(
    (outcome) => say(outcome.restartNeeded.length > 0 ? 'warn' : 'info', { signal: 'SIGHUP', ...outcome }, outcome.restartNeeded.length > 0 ? `SIGHUP: reloaded; these settings need a restart: ${outcome.restartNeeded.join(', ')}` : 'SIGHUP: configuration reloaded'),
    (err: unknown) => {
      const details = err instanceof AdminError ? (err.failure.details ?? []) : []
      say('error', { signal: 'SIGHUP', problems: details }, `SIGHUP: ${err instanceof Error ? err.message : String(err)}${details.length > 0 ? `:\n  ${details.join('\n  ')}` : ''}`)
    },
  )
}

/** `corral health`: exit 0 when every listener in the port file accepts connections, else 1 (2 means something else to Docker). */
async function health(portFile: string | undefined): Promise<never> {
  if (portFile === undefined) {
    process.stderr.write('corral: health: name the port file corral writes: --port-file <file> or CORRAL_PORT_FILE\n')
    process.exit(1)
  }
  const report = await checkHealth(portFile)
  if (report.ok) process.stdout.write(`${report.lines.join('\n')}\n`)
  else process.stderr.write(report.lines.map((line) => `corral: health: ${line}\n`).join(''))
  process.exit(report.ok ? 0 : 1)
}

function isListenError(err: unknown): err is GatewayError {
  return err instanceof GatewayError && err.code === 'CORRAL_ERR_LISTEN'
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
