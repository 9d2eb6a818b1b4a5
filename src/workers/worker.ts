/**
 * One worker process of `--workers N`: the same gateway as a single process, told by the primary
 * when to stop. Without Redis its store and fill lock go through the primary (shared memory
 * contents, one origin fetch per key for the instance); with Redis it is a fleet member of its own.
 */
import { AdminError, LocalBackend, type AdminFailure } from '../admin/backend.js'
import type { Config } from '../config/types.js'
import { reloadRuntime, type ConfigLoader } from '../reload.js'
import { IpcLock } from '../coalesce/ipc-lock.js'
import { GatewayError } from '../errors.js'
import { startGateway, type Gateway } from '../gateway.js'
import type { Adapters } from '../runtime.js'
import { MemoryStore } from '../store/memory.js'
import { ReplicatedStore } from '../store/replicated.js'
import { PrimaryChannel } from './channel.js'
import type { ToPrimary } from './messages.js'

export async function startWorker(config: Config, onShutdown: () => void, loader?: ConfigLoader): Promise<Gateway> {
  const primary = new PrimaryChannel(process)
  let adapters: Adapters = {}
  if (config.store.redis === undefined) {
    const store = new ReplicatedStore(new MemoryStore(config.store.memory), primary)
    adapters = { store, fleet: new IpcLock(primary, store, config.coalesce.hitForMissMs) }
  }
  // Set once listening: the primary sends admin calls to ready workers only.
  const admin: { backend?: LocalBackend } = {}
  primary.on((message) => {
    if (message.t === 'shutdown') onShutdown()
    else if (message.t === 'admin') {
      const { seq, call } = message
      const answering = admin.backend === undefined ? Promise.reject(new Error('not listening yet')) : admin.backend.call(call)
      answering.then(
        (result) => primary.send({ t: 'admin-reply', seq, ok: true, result }),
        (err: unknown) => primary.send({ t: 'admin-reply', seq, ok: false, error: failureOf(err) }),
      )
    }
  })
  // The primary is gone (it was killed): nobody restarts or stops this worker any more.
  process.on('disconnect', onShutdown)
  let gateway: Gateway
  try {
    gateway = await startGateway(config, adapters)
  } catch (err) {
    // Every worker would fail the same way: the primary must give up rather than restart it forever.
    if (err instanceof GatewayError && err.code === 'CORRAL_ERR_LISTEN') await tellPrimary({ t: 'fatal', message: err.message })
    throw err
  }
  const rt = gateway.runtime
  admin.backend = new LocalBackend(rt, loader === undefined ? undefined : () => reloadRuntime(rt, loader))
  primary.send({ t: 'ready', urls: gateway.urls })
  return gateway
}

function failureOf(err: unknown): AdminFailure {
  if (err instanceof AdminError) return err.failure
  return { status: 500, code: 'internal', message: err instanceof Error ? err.message : String(err) }
}

/** Sends and waits until the message is out, for a worker that is about to exit. */
function tellPrimary(message: ToPrimary): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined || !process.connected) resolve()
    else process.send(message, undefined, undefined, () => resolve())
  })
}
