/**
 * Coalescing across the worker processes of one instance without Redis: the primary keeps the
 * locks (src/workers/lock-table.ts). A waiter hears what came of the flight over IPC; when the
 * leader stored its answer, the record has already reached this worker's memory (the primary
 * relays every stored record to every sibling, in order, before it tells the waiters).
 */
import { randomBytes } from 'node:crypto'
import type { Reason } from '../status.js'
import type { CacheStore, Lease } from '../store/types.js'
import type { PrimaryChannel } from '../workers/channel.js'
import { Mailbox } from './mailbox.js'
import { DONE_MESSAGE, GIVE_UP_MESSAGE, HOLDER_LOST_MESSAGE, messageFor, outcomeFrom } from './messages.js'
import type { FleetClaim, FleetLock, FleetTry, FlightOutcome, FlightRequest } from './types.js'

interface IpcLease extends Lease {
  readonly keyId: string
}

const UNAVAILABLE: FleetClaim = Object.freeze({ kind: 'unavailable' })
const TIMEOUT: FleetClaim = Object.freeze({ kind: 'timeout' })

export class IpcLock implements FleetLock {
  readonly name = 'ipc'

  constructor(
    private readonly primary: PrimaryChannel,
    /** This worker's store: siblings' records arrive in it. */
    private readonly store: CacheStore,
    private readonly hitForMissMs: number,
  ) {}

  async claim(flight: FlightRequest): Promise<FleetClaim> {
    if (!this.primary.connected) return UNAVAILABLE
    const deadline = Date.now() + flight.waitMs
    const token = randomBytes(12).toString('base64url')
    const mailbox = new Mailbox()
    const stop = this.primary.listen(flight.lockId, (m) => mailbox.put(m))
    let takeover = false
    try {
      for (;;) {
        let reply
        try {
          reply = await this.primary.claim({ lockId: flight.lockId, keyId: flight.keyId, token, wait: true })
        } catch {
          return UNAVAILABLE
        }
        switch (reply.role) {
          case 'hit-for-miss':
            return { kind: 'outcome', outcome: { kind: 'not-shareable', reason: (reply.reason ?? 'NO_STORE') as Reason, originStatus: 0, remembered: true } }
          case 'leader': {
            const lease: IpcLease = { lockId: flight.lockId, keyId: flight.keyId, token, issuer: this.name, state: 'held' }
            // A sibling may have stored it between this worker's lookup and its claim: its records
            // reached this worker before the reply did.
            const found = await this.store.lookup(flight.entryId)
            if (found !== undefined && found.version !== flight.seenVersion) {
              this.release(lease, { kind: 'found', record: found })
              return { kind: 'outcome', outcome: { kind: 'found', record: found } }
            }
            return { kind: 'leader', lease, takeover }
          }
          case 'busy':
          case 'wait': {
            const left = deadline - Date.now()
            const message = left > 0 ? await mailbox.take(left) : undefined
            if (message === undefined) {
              this.primary.send({ t: 'unwait', lockId: flight.lockId })
              return TIMEOUT
            }
            if (message === DONE_MESSAGE) {
              const record = await this.store.reload(flight.entryId)
              if (record !== undefined && record.version !== flight.seenVersion) return { kind: 'outcome', outcome: { kind: 'found', record } }
              continue
            }
            if (message === HOLDER_LOST_MESSAGE) {
              takeover = true
              continue
            }
            if (message === GIVE_UP_MESSAGE) continue
            const outcome = outcomeFrom(message)
            if (outcome !== undefined) return { kind: 'outcome', outcome }
          }
        }
      }
    } finally {
      stop()
    }
  }

  async tryClaim(flight: FlightRequest): Promise<FleetTry> {
    const token = randomBytes(12).toString('base64url')
    let reply
    try {
      reply = await this.primary.claim({ lockId: flight.lockId, keyId: flight.keyId, token, wait: false })
    } catch {
      return { kind: 'unavailable' }
    }
    switch (reply.role) {
      case 'leader':
        return { kind: 'leader', lease: { lockId: flight.lockId, keyId: flight.keyId, token, issuer: this.name, state: 'held' } as IpcLease }
      case 'hit-for-miss':
        return { kind: 'unavailable' }
      default:
        // The sibling's refreshed record will reach this worker when it is stored.
        return { kind: 'busy', forMs: flight.leaseMs }
    }
  }

  release(lease: Lease, outcome: FlightOutcome): void {
    const held = lease as IpcLease
    if (held.state !== 'held') return
    held.state = 'released'
    // A stored entry has gone to every sibling already (src/store/replicated.ts): they read it.
    const message = outcome.kind === 'entry' && outcome.stored ? DONE_MESSAGE : messageFor(outcome)
    const remembered = outcome.kind === 'not-shareable' && outcome.remembered
    this.primary.send({
      t: 'release',
      lockId: held.lockId,
      keyId: held.keyId,
      token: held.token,
      message,
      hitForMissMs: remembered ? this.hitForMissMs : 0,
      reason: remembered ? outcome.reason : '',
    })
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}
