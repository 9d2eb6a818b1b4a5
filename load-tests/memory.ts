/**
 * memory: what corral's memory store really costs. corral (dist/cli.js, one process, memory
 * store) in front of an origin that answers every path with a body of `--object-size` bytes and
 * `max-age=3600`; `--objects` distinct paths are requested once each (every one a MISS that is
 * stored), far more than the store's budget holds, so the LRU evicts all along. corral's RSS is
 * read from /proc/<pid>/status (VmRSS now, VmHWM the peak) while it fills and after.
 *
 *   npm run build && node --import tsx load-tests/memory.ts [options]
 *
 * It prints one JSON line (load-tests/README.md, "memory"); exits 1 when a check failed.
 *
 *   --objects <n>        distinct objects requested                         [20000]
 *   --object-size <b>    body bytes of each                                  [65536]
 *   --max-size <b>       corral's store.memory.maxSize, in bytes             [corral's default, 256 MiB]
 *   --concurrency <n>    requests in flight while filling                    [16]
 *   --node-options <s>   more NODE_OPTIONS for corral (e.g. "--max-semi-space-size=4")
 *   --cache-control <v>  the origin's Cache-Control                         [max-age=3600]
 *                        ("no-store": the same load with nothing stored, the process's own share)
 *   --quiet-logs         corral at log level warn (default info, access log to /dev/null)
 *
 * Inside corral, a probe module (`--import`, through NODE_OPTIONS; written to a temporary
 * directory) reports on SIGUSR2 what the process cannot show from outside: the V8 heap, the
 * memory held by ArrayBuffers (the bodies), and the entries and bytes the memory store believes
 * it holds, then the same after a full garbage collection. The probe only looks: it records which
 * MemoryStore instances exist (by wrapping MemoryStore.prototype.writeSync) and reads their stats.
 *
 * The origin runs in this process (its one body Buffer is shared by every response), so that
 * nothing but corral's own memory is measured. Bounded: the whole run gives up after
 * RUN_DEADLINE_MS, and every child is killed on the way out.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHistogram } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { killAllChildren, round, Servers, type Options, type Report, type Server } from './lib.js'

const MiB = 1024 * 1024
const DEFAULT_OBJECTS = 20_000
const DEFAULT_OBJECT_SIZE = 64 * 1024
/** corral's default store.memory.maxSize (src/config/schema.ts). */
const DEFAULT_MAX_SIZE = 256 * MiB
const DEFAULT_CONCURRENCY = 16
const DEFAULT_CACHE_CONTROL = 'max-age=3600'
/** The whole measurement gives up after this long, and this much more per object requested. */
const RUN_DEADLINE_MS = 120_000
const DEADLINE_PER_OBJECT_MS = 5
/** How often corral's VmRSS is sampled while filling. */
const SAMPLE_EVERY_MS = 50
/** Quiet time before the "after start" reading, and after the fill before the probe's. */
const SETTLE_MS = 1_000
const PROBE_TIMEOUT_MS = 10_000
const PROBE_MARK = '@@corral-memory '

/** Temporary directories holding the probe, removed on the way out whatever happens. */
const probeDirs = new Set<string>()

const STORE_MODULE = pathToFileURL(fileURLToPath(new URL('../dist/store/memory.js', import.meta.url))).href

export interface MemoryOptions {
  readonly objects: number
  readonly objectSize: number
  /** undefined: corral's default budget, quick mode (no config file). */
  readonly maxSize: number | undefined
  readonly concurrency: number
  readonly nodeOptions: string
  /** The origin's Cache-Control. */
  readonly cacheControl: string
  readonly logLevel: Options['logLevel']
}

/** What the probe inside corral reports (see PROBE_SOURCE). */
interface ProbeReading {
  readonly rss: number
  readonly heapTotal: number
  readonly heapUsed: number
  readonly external: number
  readonly arrayBuffers: number
  readonly mallocedMemory: number
  readonly entries: number
  readonly bytes: number
  readonly maxBytes: number | undefined
}

interface ProbeReport {
  readonly seq: number
  readonly now: ProbeReading
  /** Garbage collections since the previous reading, by kind, and their total pause (ms). */
  readonly gcs: { readonly minor: number; readonly major: number; readonly incremental: number; readonly other: number; readonly ms: number }
  /** The highest values sampled since the previous reading. */
  readonly max: { readonly rss: number; readonly heapTotal: number; readonly heapUsed: number; readonly arrayBuffers: number }
  /** After a full GC and a moment for the ArrayBuffer sweeper to free what it found. */
  readonly afterGc: ProbeReading
}

/**
 * Loaded into corral with --import. Plain JS (corral runs without tsx). The store module is the
 * very one dist/runtime.js imports (same URL, same module instance).
 */
const PROBE_SOURCE = `
import { writeSync } from 'node:fs'
import { PerformanceObserver, constants as perf } from 'node:perf_hooks'
import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc')
const stores = new Set()
let seq = 0
const { MemoryStore } = await import(${JSON.stringify(STORE_MODULE)})
const writeSync0 = MemoryStore.prototype.writeSync
MemoryStore.prototype.writeSync = function (writes) {
  stores.add(this)
  return writeSync0.call(this, writes)
}
function reading() {
  const m = process.memoryUsage()
  const h = getHeapStatistics()
  let entries = 0, bytes = 0, maxBytes
  for (const store of stores) {
    const s = store.statsSync()
    entries += s.entries
    bytes += s.bytes
    if (s.maxBytes !== undefined) maxBytes = (maxBytes ?? 0) + s.maxBytes
  }
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers,
    mallocedMemory: h.malloced_memory, entries, bytes, maxBytes }
}
// Garbage collections since the previous reading, by kind, and their total pause.
let gcs = { minor: 0, major: 0, incremental: 0, other: 0, ms: 0 }
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = e.detail?.kind
    const name = kind === perf.NODE_PERFORMANCE_GC_MINOR ? 'minor' : kind === perf.NODE_PERFORMANCE_GC_MAJOR ? 'major'
      : kind === perf.NODE_PERFORMANCE_GC_INCREMENTAL ? 'incremental' : 'other'
    gcs[name]++
    gcs.ms += e.duration
  }
}).observe({ entryTypes: ['gc'] })
// Highest values seen between two readings, sampled every ${SAMPLE_EVERY_MS} ms.
let peaks = { rss: 0, heapTotal: 0, heapUsed: 0, arrayBuffers: 0 }
setInterval(() => {
  const m = process.memoryUsage()
  for (const k of Object.keys(peaks)) peaks[k] = Math.max(peaks[k], m[k])
}, ${SAMPLE_EVERY_MS}).unref()
process.on('SIGUSR2', () => {
  const max = peaks
  const gc0 = gcs
  gcs = { minor: 0, major: 0, incremental: 0, other: 0, ms: 0 }
  peaks = { rss: 0, heapTotal: 0, heapUsed: 0, arrayBuffers: 0 }
  const n = ++seq
  const now = reading()
  gc()
  setTimeout(() => {
    gc()
    setTimeout(() => writeSync(2, '\\n${PROBE_MARK}' + JSON.stringify({ seq: n, now, max, gcs: gc0, afterGc: reading() }) + '\\n'), 500)
  }, 200)
})
`

/** VmRSS and VmHWM of a process, in bytes, from /proc/<pid>/status (Linux). */
function procMemory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') }
}

/** The origin: every GET gets the same body of `size` bytes, with this Cache-Control. */
async function startOrigin(size: number, cacheControl: string): Promise<{ server: HttpServer; url: string; hits: () => number }> {
  const body = Buffer.alloc(size, 'x')
  const headers = {
    'content-type': 'application/octet-stream',
    'content-length': String(size),
    'cache-control': cacheControl,
  }
  let hits = 0
  const server = createServer((req, res) => {
    hits++
    req.resume()
    res.writeHead(200, headers)
    res.end(body)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  return { server, url: `http://127.0.0.1:${port}`, hits: () => hits }
}

/**
 * Ask corral's probe for its reading number `seq` (1, 2, …): SIGUSR2, then wait for that line on
 * its stderr (each line carries its number, so an older line in the tail is never mistaken for it).
 */
async function readProbe(corral: Server, seq: number): Promise<ProbeReport> {
  corral.child.kill('SIGUSR2')
  const deadline = Date.now() + PROBE_TIMEOUT_MS
  for (;;) {
    for (const part of corral.stderrTail().split(PROBE_MARK).slice(1)) {
      const end = part.indexOf('\n')
      if (end === -1) continue
      try {
        const report = JSON.parse(part.slice(0, end)) as ProbeReport
        if (report.seq === seq) return report
      } catch {
        // Cut by the tail's bound: an older line.
      }
    }
    if (corral.hasExited()) throw new Error(`corral exited while probed:\n${corral.stderrTail()}`)
    if (Date.now() > deadline) throw new Error(`corral's memory probe did not answer within ${PROBE_TIMEOUT_MS} ms:\n${corral.stderrTail()}`)
    await sleep(50)
  }
}

const mb = (bytes: number | undefined): number | undefined => (bytes === undefined ? undefined : round(bytes / MiB, 1))

function inMb(r: ProbeReading): Record<string, number | undefined> {
  return {
    rssMB: mb(r.rss),
    heapTotalMB: mb(r.heapTotal),
    heapUsedMB: mb(r.heapUsed),
    externalMB: mb(r.external),
    arrayBuffersMB: mb(r.arrayBuffers),
    mallocedMB: mb(r.mallocedMemory),
    entries: r.entries,
    storeBytesMB: mb(r.bytes),
  }
}

export async function measureMemory(m: MemoryOptions): Promise<Report> {
  const serverOptions: Options = {
    durationS: 0,
    connections: m.concurrency,
    warmupS: 0,
    logLevel: m.logLevel,
    cpuProfDir: undefined,
    redis: false,
    instances: 1,
    crowd: 1,
  }
  const servers = new Servers(serverOptions)
  const dir = mkdtempSync(join(tmpdir(), 'corral-memory-'))
  probeDirs.add(dir)
  const origin = await startOrigin(m.objectSize, m.cacheControl)
  let pool: Pool | undefined
  const savedNodeOptions = process.env.NODE_OPTIONS
  try {
    const probe = join(dir, 'probe.mjs')
    writeFileSync(probe, PROBE_SOURCE)
    process.env.NODE_OPTIONS = [savedNodeOptions ?? '', `--import=${pathToFileURL(probe).href}`, m.nodeOptions].join(' ').trim()
    let corral: Server
    try {
      corral = await servers.corral(
        origin.url,
        m.maxSize === undefined ? {} : { config: { store: { memory: { maxSize: m.maxSize, maxObjectSize: Math.min(m.maxSize, 8 * MiB) } } } },
      )
    } finally {
      if (savedNodeOptions === undefined) delete process.env.NODE_OPTIONS
      else process.env.NODE_OPTIONS = savedNodeOptions
    }
    const pid = corral.child.pid!
    await sleep(SETTLE_MS)
    const atStart = procMemory(pid)
    const probeAtStart = await readProbe(corral, 1)

    // Fill: every path once, `concurrency` at a time.
    pool = new Pool(corral.url, { connections: m.concurrency })
    const latencyUs = createHistogram()
    const cacheStatus: Record<string, number> = {}
    let errors = 0
    let non2xx = 0
    let wrongLength = 0
    let maxSampled = atStart.rss
    const sampler = setInterval(() => {
      maxSampled = Math.max(maxSampled, procMemory(pid).rss)
    }, SAMPLE_EVERY_MS)
    let next = 0
    const started = performance.now()
    const worker = async (p: Pool): Promise<void> => {
      while (next < m.objects) {
        const i = next++
        const t0 = performance.now()
        try {
          const res = await p.request({ method: 'GET', path: `/objects/${i}` })
          let length = 0
          for await (const chunk of res.body) length += (chunk as Buffer).length
          latencyUs.record(Math.max(1, Math.round((performance.now() - t0) * 1000)))
          if (res.statusCode < 200 || res.statusCode >= 300) non2xx++
          if (length !== m.objectSize) wrongLength++
          const status = String(res.headers['x-cache-status'] ?? '')
          cacheStatus[status] = (cacheStatus[status] ?? 0) + 1
        } catch {
          errors++
        }
      }
    }
    try {
      await Promise.all(Array.from({ length: m.concurrency }, () => worker(pool!)))
    } finally {
      clearInterval(sampler)
    }
    const fillS = (performance.now() - started) / 1000
    const afterFill = procMemory(pid)
    await sleep(SETTLE_MS)
    const settled = procMemory(pid)
    const probeAfter = await readProbe(corral, 2)
    const budget = probeAfter.now.maxBytes ?? m.maxSize ?? DEFAULT_MAX_SIZE
    const peak = Math.max(settled.hwm, maxSampled)

    const problems: string[] = []
    if (errors > 0) problems.push(`${errors} requests failed`)
    if (non2xx > 0) problems.push(`${non2xx} responses were not 2xx`)
    if (wrongLength > 0) problems.push(`${wrongLength} bodies were not ${m.objectSize} bytes`)
    if (m.cacheControl === DEFAULT_CACHE_CONTROL && (cacheStatus.MISS ?? 0) !== m.objects) {
      problems.push(`expected ${m.objects} MISS, got ${JSON.stringify(cacheStatus)}`)
    }
    if (probeAfter.now.bytes > budget) problems.push(`the store believes it holds ${probeAfter.now.bytes} bytes, over its budget of ${budget}`)

    const requests = latencyUs.count
    return {
      scenario: 'memory',
      reqPerSec: round(requests / fillS, 1),
      p50Ms: requests === 0 ? 0 : round(latencyUs.percentile(50) / 1000, 3),
      p99Ms: requests === 0 ? 0 : round(latencyUs.percentile(99) / 1000, 3),
      errors,
      non2xx,
      originHits: origin.hits(),
      durationS: round(fillS, 1),
      connections: m.concurrency,
      requests,
      cpuPct: {},
      objects: m.objects,
      objectSize: m.objectSize,
      nodeOptions: m.nodeOptions === '' ? undefined : m.nodeOptions,
      cacheControl: m.cacheControl,
      budgetMB: mb(budget),
      rssAfterStartMB: mb(atStart.rss),
      peakRssMB: mb(peak),
      rssAfterFillMB: mb(afterFill.rss),
      rssSettledMB: mb(settled.rss),
      peakOverBudgetMB: mb(peak - budget),
      peakOverBudgetAndStartMB: mb(peak - budget - atStart.rss),
      entries: probeAfter.now.entries,
      storeBytesMB: mb(probeAfter.now.bytes),
      cacheStatus,
      atStart: inMb(probeAtStart.afterGc),
      afterFill: inMb(probeAfter.now),
      maxDuringFill: {
        heapTotalMB: mb(probeAfter.max.heapTotal),
        heapUsedMB: mb(probeAfter.max.heapUsed),
        arrayBuffersMB: mb(probeAfter.max.arrayBuffers),
      },
      afterFillGc: inMb(probeAfter.afterGc),
      gcsDuringFill: { ...probeAfter.gcs, ms: Math.round(probeAfter.gcs.ms) },
      ...(problems.length > 0 ? { problems } : {}),
    }
  } finally {
    await pool?.close()
    await servers.stop()
    const closed = new Promise<void>((resolve) => origin.server.close(() => resolve()))
    origin.server.closeAllConnections()
    await closed
    rmSync(dir, { recursive: true, force: true })
    probeDirs.delete(dir)
  }
}

function wholeNumber(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${flag}: expected a whole number > 0, got "${value}"`)
  return n
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      objects: { type: 'string' },
      'object-size': { type: 'string' },
      'max-size': { type: 'string' },
      concurrency: { type: 'string' },
      'node-options': { type: 'string', default: '' },
      'cache-control': { type: 'string', default: DEFAULT_CACHE_CONTROL },
      'quiet-logs': { type: 'boolean', default: false },
    },
  })
  const objects = wholeNumber(values.objects, '--objects', DEFAULT_OBJECTS)
  const deadlineMs = RUN_DEADLINE_MS + objects * DEADLINE_PER_OBJECT_MS
  setTimeout(() => {
    process.stderr.write(`memory: still running after ${deadlineMs / 1000} s, giving up\n`)
    process.exit(1)
  }, deadlineMs).unref()
  const report = await measureMemory({
    objects,
    objectSize: wholeNumber(values['object-size'], '--object-size', DEFAULT_OBJECT_SIZE),
    maxSize: values['max-size'] === undefined ? undefined : wholeNumber(values['max-size'], '--max-size', DEFAULT_MAX_SIZE),
    concurrency: wholeNumber(values.concurrency, '--concurrency', DEFAULT_CONCURRENCY),
    nodeOptions: values['node-options'],
    cacheControl: values['cache-control'],
    logLevel: values['quiet-logs'] ? 'warn' : 'info',
  })
  process.stdout.write(`${JSON.stringify(report)}\n`)
  return report.problems === undefined ? 0 : 1
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.on('exit', () => {
    killAllChildren()
    for (const dir of probeDirs) rmSync(dir, { recursive: true, force: true })
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(1))
  main()
    .then((code) => process.exit(code))
    .catch((err: unknown) => {
      process.stderr.write(`memory: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
      process.exit(1)
    })
}
