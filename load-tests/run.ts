/**
 * The load-test runner: `npm run loadtest -- <scenario|all> [options]`. Runs the scenarios one
 * after another and prints a short table on stdout, a row as each scenario finishes (table.ts),
 * or with --json one JSON line per scenario, with everything it measured. Exits 1 when a
 * scenario failed or one of its checks did (its `problems`). Every child process it started is
 * killed on the way out, also on errors, Ctrl-C and when the whole run overstays its time budget.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { killAllChildren, takeRecordedRuns, type Options, type Scenario } from './lib.js'
import { htmlReport, type ScenarioResult } from './report.js'
import { bypass } from './scenarios/bypass.js'
import { uncacheable } from './scenarios/uncacheable.js'
import { direct } from './scenarios/direct.js'
import { fleetStampede } from './scenarios/fleet-stampede.js'
import { hit } from './scenarios/hit.js'
import { hitNginx } from './scenarios/hit-nginx.js'
import { l2Hit } from './scenarios/l2-hit.js'
import { missCoalesced, staleUpdating } from './scenarios/one-hot-key.js'
import { expiry } from './scenarios/expiry.js'
import { coldStart, stampede } from './scenarios/stampede.js'
import { streamFill } from './scenarios/stream-fill.js'
import { tableHeader, tableRows } from './table.js'

// The scenarios, in the order `all` runs them: one line each (and its import above).
const SCENARIOS: readonly Scenario[] = [
  direct,
  hit,
  hitNginx,
  missCoalesced,
  staleUpdating,
  expiry,
  bypass,
  uncacheable,
  l2Hit,
  stampede,
  streamFill,
  coldStart,
  fleetStampede,
]

/** Bounds of --instances and --crowd: every connection is a file descriptor here and in corral. */
const MAX_INSTANCES = 16
const MAX_CROWD = 5_000

/** Time allowed per scenario beyond its load: starting and stopping processes, probes. */
const SLACK_PER_SCENARIO_S = 60

function help(): string {
  const width = Math.max(...SCENARIOS.map((s) => s.name.length))
  const list = SCENARIOS.map((s) => `  ${s.name.padEnd(width)}  ${s.description}`).join('\n')
  return `Usage: npm run loadtest -- <scenario|all> [options]

Scenarios:
${list}
  ${'all'.padEnd(width)}  every scenario above, in this order

Options:
  --duration <s>       length of each measured run              [10]
  --connections <n>    concurrent connections                   [50]
  --warmup <s>         load before each measured run, not kept  [2]
  --quiet-logs         run corral at log level warn (no access log) instead of info
  --cpu-prof <dir>     run corral under node --cpu-prof, profiles written to <dir>
  --redis              hit: also measure corral in fleet mode (private redis-server, L1 on)
  --instances <n>      fleet-stampede: corral instances sharing one redis-server  [4]
  --crowd <n>          fleet-stampede, stampede, stream-fill: concurrent requests
                       per round (stream-fill: at most 200)                       [1000]
  --json               one JSON line per scenario, with every figure, instead of the table
  --html <file>        also write an HTML report: the table, and for every run measured its
                       throughput second by second and its latency histogram (self-contained)
  -h, --help           this text

The fleet scenarios (l2-hit, fleet-stampede, hit --redis) start their own redis-server
(on the PATH) on a free port; they never use a Redis that is already running.

Prints a table, a row per scenario (and per setup it is compared with) as each finishes;
--json for the full figures. See load-tests/README.md.
`
}

function fail(message: string): never {
  process.stderr.write(`loadtest: ${message}\n\n${help()}`)
  process.exit(2)
}

function positiveNumber(value: string, flag: string, { allowZero = false, integer = false } = {}): number {
  const n = Number(value)
  const ok = Number.isFinite(n) && (allowZero ? n >= 0 : n > 0) && (!integer || Number.isInteger(n))
  if (!ok) fail(`${flag}: expected ${integer ? 'a whole number' : 'a number'} ${allowZero ? '>= 0' : '> 0'}, got "${value}"`)
  return n
}

function parse(argv: string[]): { scenarios: readonly Scenario[]; options: Options; json: boolean; html: string | undefined } {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        duration: { type: 'string', default: '10' },
        connections: { type: 'string', default: '50' },
        warmup: { type: 'string', default: '2' },
        'quiet-logs': { type: 'boolean', default: false },
        'cpu-prof': { type: 'string' },
        redis: { type: 'boolean', default: false },
        instances: { type: 'string', default: '4' },
        crowd: { type: 'string', default: '1000' },
        json: { type: 'boolean', default: false },
        html: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (err) {
    fail((err as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(help())
    process.exit(0)
  }
  if (positionals.length !== 1) fail('name one scenario, or all')
  const name = positionals[0]!
  const scenarios = name === 'all' ? SCENARIOS : SCENARIOS.filter((s) => s.name === name)
  if (scenarios.length === 0) fail(`unknown scenario "${name}"`)

  const cpuProfDir = values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof'])
  if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true })
  const instances = positiveNumber(values.instances, '--instances', { integer: true })
  if (instances > MAX_INSTANCES) fail(`--instances: at most ${MAX_INSTANCES}, got ${instances}`)
  const crowd = positiveNumber(values.crowd, '--crowd', { integer: true })
  if (crowd > MAX_CROWD) fail(`--crowd: at most ${MAX_CROWD}, got ${crowd}`)
  return {
    scenarios,
    json: values.json,
    html: values.html === undefined ? undefined : resolve(values.html),
    options: {
      durationS: positiveNumber(values.duration, '--duration'),
      connections: positiveNumber(values.connections, '--connections', { integer: true }),
      warmupS: positiveNumber(values.warmup, '--warmup', { allowZero: true }),
      logLevel: values['quiet-logs'] ? 'warn' : 'info',
      cpuProfDir,
      redis: values.redis,
      instances,
      crowd,
    },
  }
}

async function main(): Promise<number> {
  const { scenarios, options, json, html } = parse(process.argv.slice(2))
  const startedAt = new Date()
  const results: ScenarioResult[] = []
  // Written again after each scenario: a run cut short still leaves the scenarios it finished.
  const writeHtml = (): void => {
    if (html === undefined) return
    mkdirSync(dirname(html), { recursive: true })
    const command = `npm run loadtest -- ${process.argv.slice(2).join(' ')}`
    writeFileSync(html, htmlReport(results, { command, startedAt, finishedAt: new Date(), options }))
  }

  // Comparisons measure two setups (hit --redis five: each corral twice), each warmed up and run.
  const loadS = options.warmupS + options.durationS
  const budgetS = scenarios.reduce((sum, s) => sum + (s.setups?.(options) ?? 2) * loadS + SLACK_PER_SCENARIO_S, 0)
  setTimeout(() => {
    process.stderr.write(`loadtest: still running after ${budgetS} s, giving up\n`)
    process.exit(1)
  }, budgetS * 1000).unref()

  let exitCode = 0
  if (!json) process.stdout.write(`${tableHeader()}\n`)
  for (const scenario of scenarios) {
    try {
      const line = await scenario.run(options)
      const runs = takeRecordedRuns()
      process.stdout.write(`${json ? JSON.stringify(line) : tableRows(line, runs)}\n`)
      if (line.problems !== undefined) exitCode = 1
      results.push({ scenario: scenario.name, description: scenario.description, report: line, runs })
    } catch (err) {
      process.stderr.write(`loadtest ${scenario.name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
      exitCode = 1
      results.push({ scenario: scenario.name, description: scenario.description, error: err instanceof Error ? err.message : String(err), runs: takeRecordedRuns() })
    }
    writeHtml()
  }
  return exitCode
}

process.on('exit', killAllChildren)
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    process.stderr.write(`loadtest: ${signal}, stopping\n`)
    process.exit(code)
  })
}

main()
  .then((code) => process.exit(code))
  .catch((err: unknown) => {
    process.stderr.write(`loadtest: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  })
