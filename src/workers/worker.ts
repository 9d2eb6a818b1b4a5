/**
 * One worker process of `--workers N`: the same gateway as a single process, told by the primary
 * when to stop. Without Redis its store and fill lock go through the primary (shared memory
 * contents, one origin fetch per key for the instance); with Redis it is a fleet member of its own.
 */
import type { Config } from '../config/types.js'
import { IpcLock } from '../coalesce/ipc-lock.js'
import { startGateway, type Gateway } from '../gateway.js'
import type { Adapters } from '../runtime.js'
import { MemoryStore } from '../store/memory.js'
import { ReplicatedStore } from '../store/replicated.js'
import { PrimaryChannel } from './channel.js'

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
  const gateway = await startGateway(config, adapters)
  primary.send({ t: 'ready', urls: gateway.urls })
  return gateway
}
