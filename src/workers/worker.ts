/**
 * One worker process of `--workers N`: the same gateway as a single process, told by the primary
 * when to stop. Without Redis its store and fill lock go through the primary (shared memory
 * contents, one origin fetch per key for the instance); with Redis it is a fleet member of its own.
 */
import type { Config } from '../config/types.js'
import { IpcLock } from '../coalesce/ipc-lock.js'
import { GatewayError } from '../errors.js'
import { startGateway, type Gateway } from '../gateway.js'
import type { Adapters } from '../runtime.js'
import { MemoryStore } from '../store/memory.js'
import { ReplicatedStore } from '../store/replicated.js'
import { PrimaryChannel } from './channel.js'
import type { ToPrimary } from './messages.js'

export async function startWorker(config: Config, onShutdown: () => void): Promise<Gateway> {
  const primary = new PrimaryChannel(process)
  let adapters: Adapters = {}
  if (config.store.redis === undefined) {
    const store = new ReplicatedStore(new MemoryStore(config.store.memory), primary)
    adapters = { store, fleet: new IpcLock(primary, store, config.coalesce.hitForMissMs) }
  }
  primary.on((message) => {
    if (message.t === 'shutdown') onShutdown()
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
  primary.send({ t: 'ready', urls: gateway.urls })
  return gateway
}

/** Sends and waits until the message is out, for a worker that is about to exit. */
function tellPrimary(message: ToPrimary): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined || !process.connected) resolve()
    else process.send(message, undefined, undefined, () => resolve())
  })
}
