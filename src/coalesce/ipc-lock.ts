/**
 * Coalescing across the worker processes of one instance without Redis: the primary keeps the
 * locks (src/workers/lock-table.ts). A waiter hears what came of the flight over IPC; when the
 * leader stored its answer, the record has already reached this worker's memory (the primary
 * relays every stored record to every sibling, in order, before it tells the waiters).
 */
import { randomBytes } from 'node:crypto'
import type { CacheStatus, Reason } from '../status.js'
import { decodeRecordSync, encodeRecord } from '../store/codec.js'
import type { CacheStore, Lease } from '../store/types.js'
import type { PrimaryChannel } from '../workers/channel.js'
import type { FillPart } from '../workers/messages.js'
import { Fill } from './fill.js'
import { Mailbox } from './mailbox.js'
import { DONE_MESSAGE, GIVE_UP_MESSAGE, HOLDER_LOST_MESSAGE, messageFor, outcomeFrom } from './messages.js'
import type { FleetClaim, FleetLock, FleetTry, FlightOutcome, FlightRequest } from './types.js'

interface IpcLease extends Lease {
  readonly keyId: string
}

/** Put in a waiter's mailbox when a sibling's fill starts: never a message of messages.ts (those start with a letter). */
const FILL_STARTED = '*'

/** A sibling's fill of a flight this worker waits on (or waited on), fed by the primary's relay. */
interface RemoteFill {
  fill: Fill | undefined
  outcome: FlightOutcome | undefined
  /** The claim waiting on the flight now, if any: woken when the fill starts. */
  wake: ((message: string) => void) | undefined
  readonly stop: () => void
}

const UNAVAILABLE: FleetClaim = Object.freeze({ kind: 'unavailable' })
const TIMEOUT: FleetClaim = Object.freeze({ kind: 'timeout' })

export class IpcLock implements FleetLock {
  readonly name = 'ipc'
  private readonly remote = new Map<string, RemoteFill>()

  constructor(
    private readonly primary: PrimaryChannel,
    /** This worker's store: siblings' records arrive in it. */
    private readonly store: CacheStore,
    private readonly hitForMissMs: number,
  ) {}

  async claim(flight: FlightRequest): Promise<FleetClaim> {
    if (!this.primary.connected) return UNAVAILABLE
    // A sibling's fill of this flight is arriving already: read along.
    const running = this.remote.get(flight.lockId)
    if (running?.outcome !== undefined && running.fill?.joinable === true && running.fill.state === 'open') {
      return { kind: 'outcome', outcome: running.outcome }
    }
    const deadline = Date.now() + flight.waitMs
    const token = randomBytes(12).toString('base64url')
    const mailbox = new Mailbox()
    const stop = this.primary.listen(flight.lockId, (m) => mailbox.put(m))
    const remote = this.watchFill(flight.lockId, (m) => mailbox.put(m))
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
            if (message === FILL_STARTED) {
              if (remote.outcome !== undefined) return { kind: 'outcome', outcome: remote.outcome }
              continue
            }
            const outcome = outcomeFrom(message)
            if (outcome !== undefined) return { kind: 'outcome', outcome }
          }
        }
      }
    } finally {
      stop()
      remote.wake = undefined
      if (remote.fill?.state !== 'open') this.unwatchFill(flight.lockId, remote)
    }
  }

  /** Hear a sibling's fill of the flight, from its head; `wake` is told when it starts. */
  private watchFill(lockId: string, wake: (message: string) => void): RemoteFill {
    let remote = this.remote.get(lockId)
    if (remote === undefined) {
      remote = { fill: undefined, outcome: undefined, wake, stop: this.primary.listenFill(lockId, (part) => this.onPart(lockId, part)) }
      this.remote.set(lockId, remote)
    }
    remote.wake = wake
    return remote
  }

  private unwatchFill(lockId: string, remote: RemoteFill): void {
    if (this.remote.get(lockId) !== remote) return
    this.remote.delete(lockId)
    remote.stop()
  }

  private onPart(lockId: string, part: FillPart): void {
    const remote = this.remote.get(lockId)
    if (remote === undefined) return
    const fill = remote.fill
    switch (part.p) {
      case 'head': {
        if (fill?.state === 'open') return
        let head
        try {
          head = decodeRecordSync(Buffer.from(part.head))
        } catch {
          return
        }
        if (head.kind !== 'entry') return
        // The leader keeps to the route's limit and says `stop` past it.
        const next = new Fill(head, part.length < 0 ? undefined : part.length, Number.POSITIVE_INFINITY)
        remote.fill = next
        remote.outcome = { kind: 'fill', fill: next, cacheStatus: part.cacheStatus as CacheStatus, fwdStatus: part.fwdStatus }
        remote.wake?.(FILL_STARTED)
        return
      }
      case 'data':
        fill?.push(Buffer.isBuffer(part.chunk) ? part.chunk : Buffer.from(part.chunk.buffer, part.chunk.byteOffset, part.chunk.byteLength))
        return
      case 'stop':
        fill?.stopKeeping()
        return
      case 'end':
      case 'fail':
        if (part.p === 'end') fill?.end()
        else fill?.fail()
        if (remote.wake === undefined) this.unwatchFill(lockId, remote)
        return
    }
  }

  /** The fill of a flight this worker leads, for the siblings waiting on it (through the primary). */
  announce(lease: Lease, outcome: FlightOutcome): void {
    const held = lease as IpcLease
    if (outcome.kind !== 'fill' || held.state !== 'held') return
    const { fill } = outcome
    const send = (part: FillPart): void => this.primary.send({ t: 'fill', lockId: held.lockId, token: held.token, part })
    void encodeRecord(fill.head).then(
      (head) => {
        // Too large to keep by now: the waiters hear the flight's outcome instead.
        if (!fill.joinable) return
        send({ p: 'head', head, length: fill.length ?? -1, cacheStatus: outcome.cacheStatus, fwdStatus: outcome.fwdStatus })
        fill.tap({
          write: (chunk) => {
            send({ p: 'data', chunk })
            return true
          },
          end: () => send({ p: 'end' }),
          fail: () => send({ p: 'fail' }),
          stopped: () => send({ p: 'stop' }),
        })
      },
      () => undefined,
    )
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
