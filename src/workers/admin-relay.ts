/**
 * The admin API of `--workers N`: the primary owns the admin listener and asks its workers, which
 * answer with the same local backend a single process uses (src/admin/backend.ts). A purge or an
 * explain goes to one worker (a purge reaches its siblings through the store, as every write
 * does); a reload goes to all of them, after the primary has checked the new config itself.
 */
import cluster, { type Worker } from 'node:cluster'
import { AdminError, type AdminBackend, type AdminCall, type ReadyReport, type ReloadOutcome } from '../admin/backend.js'
import type { Config } from '../config/types.js'
import { clusterMetrics } from '../metrics.js'
import { loadForReload, type ConfigLoader } from '../reload.js'
import type { ToPrimary, ToWorker } from './messages.js'

/** How long a worker may take to answer an admin call (a purge scanning Redis included). */
const ANSWER_TIMEOUT_MS = 30_000

type Reply = Extract<ToPrimary, { t: 'admin-reply' }>

export class AdminRelay implements AdminBackend {
  private seq = 0
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>()

  constructor(
    private readonly ready: () => readonly Worker[],
    private readonly config: { current: Config },
    private readonly loader: ConfigLoader | undefined,
  ) {}

  /** A worker's answer to one of our calls. */
  answered(reply: Reply): void {
    const pending = this.waiting.get(reply.seq)
    if (pending === undefined) return
    this.waiting.delete(reply.seq)
    clearTimeout(pending.timer)
    if (reply.ok) pending.resolve(reply.result)
    else pending.reject(new AdminError(reply.error))
  }

  async call(call: AdminCall): Promise<unknown> {
    const workers = this.ready()
    if (call.op === 'ready') {
      if (workers.length === 0) return { ready: false, config: this.config.current.source, redis: this.config.current.store.redis === undefined ? 'off' : 'down', workers: 0 } satisfies ReadyReport
      const report = (await this.ask(workers[0] as Worker, call)) as ReadyReport
      return { ...report, workers: workers.length } satisfies ReadyReport
    }
    if (workers.length === 0) throw new AdminError({ status: 503, code: 'no-workers', message: 'no worker is listening yet' })
    if (call.op !== 'reload') return this.ask(workers[0] as Worker, call)
    if (this.loader === undefined) {
      throw new AdminError({ status: 409, code: 'reload-unavailable', message: 'this corral runs without a config file (quick mode): there is nothing to re-read' })
    }
    // Checked here first: an invalid file is refused once, before any worker is touched.
    const next: Config = await loadForReload(this.loader)
    const outcomes = (await Promise.all(workers.map((w) => this.ask(w, call)))) as ReloadOutcome[]
    this.config.current = next
    return { ...(outcomes[0] as ReloadOutcome), workers: outcomes.length } satisfies ReloadOutcome
  }

  metrics(): Promise<{ contentType: string; text: string }> {
    return clusterMetrics()
  }

  private ask(worker: Worker, call: AdminCall): Promise<unknown> {
    const seq = ++this.seq
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(seq)
        reject(new AdminError({ status: 504, code: 'worker-timeout', message: `worker ${worker.id} did not answer within ${ANSWER_TIMEOUT_MS / 1000} s` }))
      }, ANSWER_TIMEOUT_MS)
      this.waiting.set(seq, { resolve, reject, timer })
      worker.send({ t: 'admin', seq, call } satisfies ToWorker)
    })
  }
}

export function readyWorkers(ids: ReadonlySet<number>): Worker[] {
  return Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && ids.has(w.id) && w.isConnected())
}
