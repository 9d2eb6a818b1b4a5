/**
 * The primary's half of streaming a fill to sibling workers (src/coalesce/fill.ts): the worker
 * leading a flight sends the body's parts as it reads them, and the primary passes them on to the
 * workers waiting on that flight — replaying the parts so far to a worker that starts waiting
 * later, as long as the fill keeps its start (until it is too large to store: `stop`).
 */
import type { FillPart, ToWorker } from './messages.js'

interface Relay {
  readonly owner: number
  readonly token: string
  /** The parts so far, while a new reader can start from the head; undefined after `stop`. */
  parts: FillPart[] | undefined
  readonly readers: Set<number>
}

export class FillRelay {
  private readonly relays = new Map<string, Relay>()

  constructor(private readonly send: (worker: number, message: ToWorker) => void) {}

  /** A part from `worker`, which leads the flight with `token`; `waiters`: who waits on the flight now. */
  part(worker: number, lockId: string, token: string, part: FillPart, waiters: readonly number[]): void {
    let relay = this.relays.get(lockId)
    if (part.p === 'head') {
      relay = { owner: worker, token, parts: [part], readers: new Set(waiters) }
      this.relays.set(lockId, relay)
    } else if (relay === undefined || relay.owner !== worker || relay.token !== token) {
      return
    } else if (part.p === 'stop') {
      relay.parts = undefined
    } else if (part.p === 'data') {
      relay.parts?.push(part)
    }
    for (const reader of relay.readers) this.send(reader, { t: 'fill', lockId, part })
    if (part.p === 'end' || part.p === 'fail') this.relays.delete(lockId)
  }

  /** `worker` started waiting on the flight: the fill so far, if it can still be joined. */
  joined(worker: number, lockId: string): void {
    const relay = this.relays.get(lockId)
    if (relay?.parts === undefined || relay.readers.has(worker) || relay.owner === worker) return
    relay.readers.add(worker)
    for (const part of relay.parts) this.send(worker, { t: 'fill', lockId, part })
  }

  /** `worker` exited: the fills it led are cut for their readers, and it reads none. */
  gone(worker: number): void {
    for (const [lockId, relay] of this.relays) {
      relay.readers.delete(worker)
      if (relay.owner !== worker) continue
      this.relays.delete(lockId)
      for (const reader of relay.readers) this.send(reader, { t: 'fill', lockId, part: { p: 'fail' } })
    }
  }

  get size(): number {
    return this.relays.size
  }
}
