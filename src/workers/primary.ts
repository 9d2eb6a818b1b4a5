/**
 * `--workers N`: the primary process forks N workers (node:cluster) that share the listeners, and
 * watches over them: it restarts a worker that dies (backing off when one keeps dying), and on
 * SIGTERM/SIGINT tells every worker to drain and waits for them. Without Redis it also keeps the
 * workers' fill locks (one origin fetch per key for the instance) and relays every stored record
 * to the other workers. With Redis, each worker is a fleet member of its own.
 */
import cluster, { type Worker } from 'node:cluster'
import type { Config } from '../config/types.js'
import type { GatewayLog } from '../log.js'
import { primaryOf } from '../store/ids.js'
import { HOLDER_LOST_MESSAGE } from '../coalesce/messages.js'
import { FillRelay } from './fill-relay.js'
import { LockTable } from './lock-table.js'
import { AdminRelay, readyWorkers } from './admin-relay.js'
import type { ConfigLoader } from '../reload.js'
import { isToPrimary, type ToWorker } from './messages.js'

/** A worker that dies within this long of starting counts as crashing, and its restart waits longer. */
const CRASH_WINDOW_MS = 5_000
const MAX_RESTART_DELAY_MS = 10_000

export interface Primary {
  /**
   * Resolves when every worker has exited after a shutdown: with undefined after stop(), or with
   * one line saying why when the primary gave up because the workers cannot start.
   */
  readonly stopped: Promise<string | undefined>
  /** Resolves with the listeners' addresses (`http://host:port`) once the first worker listens. */
  readonly listening: Promise<readonly string[]>
  /** The admin API's backend: asks the workers. */
  readonly admin: AdminRelay
  /** The config now (a reload replaces it). */
  readonly config: { current: Config }
  stop(): void
}

/** corral's exit code for start-up errors: a worker that exits with it before it listens is not restarted. */
export const STARTUP_FAILURE_EXIT_CODE = 2

export function runPrimary(config: Config, log: GatewayLog, loader?: ConfigLoader): Primary {
  cluster.setupPrimary({ serialization: 'advanced' })
  const table = config.store.redis === undefined ? new LockTable() : undefined
  const started = new Map<number, number>()
  const ready = new Set<number>()
  let crashes = 0
  let stopping = false
  /** Why the primary gave up, when it did. */
  let gaveUp: string | undefined
  let resolveStopped!: (why: string | undefined) => void
  const stopped = new Promise<string | undefined>((resolve) => (resolveStopped = resolve))
  let resolveListening!: (urls: readonly string[]) => void
  const listening = new Promise<readonly string[]>((resolve) => (resolveListening = resolve))
  const current = { current: config }
  const admin = new AdminRelay(() => readyWorkers(ready), current, loader)

  const send = (workerId: number, message: ToWorker): void => {
    const worker = cluster.workers?.[workerId]
    if (worker?.isConnected() === true) worker.send(message)
  }
  const fills = new FillRelay(send)
  const others = (from: number): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.id !== from)

  const fork = (): void => {
    const worker = cluster.fork()
    started.set(worker.id, Date.now())
    worker.on('message', (message: unknown) => {
      if (!isToPrimary(message)) return
      const now = Date.now()
      switch (message.t) {
        case 'claim': {
          if (table === undefined) return
          const answer = table.claim(worker.id, message, now)
          send(worker.id, { t: 'claimed', seq: message.seq, role: answer.role, reason: answer.reason })
          if (answer.role === 'wait') fills.joined(worker.id, message.lockId)
          return
        }
        case 'fill':
          fills.part(worker.id, message.lockId, message.token, message.part, table?.waitersOf(message.lockId) ?? [])
          return
        case 'release': {
          const waiters = table?.release(worker.id, message, now)
          for (const id of waiters ?? []) send(id, { t: 'outcome', lockId: message.lockId, message: message.message })
          return
        }
        case 'unwait':
          table?.unwait(worker.id, message.lockId)
          return
        case 'put':
          for (const { id } of message.records) table?.stored(primaryOf(id))
          for (const w of others(worker.id)) if (w.isConnected()) w.send(message)
          return
        case 'del':
          for (const w of others(worker.id)) if (w.isConnected()) w.send(message)
          return
        case 'purge':
          // A purged URL may be shareable again: its hit-for-miss mark goes too.
          if (message.order.target.kind === 'url') for (const id of message.order.target.ids) table?.stored(id)
          for (const w of others(worker.id)) if (w.isConnected()) w.send(message)
          return
        case 'admin-reply':
          admin.answered(message)
          return
        case 'ready':
          ready.add(worker.id)
          log.workerReady({ worker: worker.id, pid: worker.process.pid ?? 0 })
          resolveListening(message.urls)
          return
        case 'fatal':
          giveUp(message.message)
          return
      }
    })
  }

  cluster.on('exit', (worker, code, signal) => {
    // Its flights end with it: their waiters look again, and one of them takes over.
    fills.gone(worker.id)
    for (const { lockId, waiters } of table?.gone(worker.id) ?? []) {
      for (const id of waiters) send(id, { t: 'outcome', lockId, message: HOLDER_LOST_MESSAGE })
    }
    const lived = Date.now() - (started.get(worker.id) ?? 0)
    const wasReady = ready.delete(worker.id)
    started.delete(worker.id)
    // A start-up error (its 'fatal' message may not have made it): restarting would fail the same way.
    if (!stopping && !wasReady && code === STARTUP_FAILURE_EXIT_CODE) giveUp(`worker ${worker.id} could not start (exit code ${code})`)
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) resolveStopped(gaveUp)
      return
    }
    crashes = lived < CRASH_WINDOW_MS ? crashes + 1 : 0
    const delayMs = crashes === 0 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 100 * 2 ** crashes)
    log.workerDied({ worker: worker.id, pid: worker.process.pid ?? 0, code, signal, restartInMs: delayMs })
    setTimeout(() => {
      if (!stopping) fork()
    }, delayMs).unref()
  })

  const stop = (): void => {
    if (stopping) return
    stopping = true
    const workers = Object.values(cluster.workers ?? {})
    if (workers.length === 0) resolveStopped(gaveUp)
    for (const worker of workers) if (worker?.isConnected() === true) worker.send({ t: 'shutdown' } satisfies ToWorker)
    // A worker that does not finish its drain in time is stopped the hard way.
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL')
    }, config.server.drainTimeoutMs + 5_000).unref()
  }

  /** The first reason wins: the other workers fail the same way, or are told to stop. */
  function giveUp(why: string): void {
    if (stopping) return
    gaveUp = why
    stop()
  }

  for (let i = 0; i < config.server.workers; i++) fork()
  log.workersStarted(config.server.workers)

  return { stopped, listening, admin, config: current, stop }
}
