/**
 * A worker's end of the IPC channel to the primary: typed sends, and the replies and messages
 * routed to whoever waits for them (claims by sequence number, outcomes by flight).
 */
import type { FillPart, ToPrimary, ToWorker } from './messages.js'
import { isToWorker } from './messages.js'

type Claimed = Extract<ToWorker, { t: 'claimed' }>

export class PrimaryChannel {
  private seq = 0
  private readonly replies = new Map<number, (reply: Claimed) => void>()
  private readonly outcomes = new Map<string, (message: string) => void>()
  private readonly fills = new Map<string, (part: FillPart) => void>()
  private readonly handlers: Array<(message: ToWorker) => void> = []

  constructor(private readonly process: NodeJS.Process) {
    process.on('message', (message: unknown) => {
      if (!isToWorker(message)) return
      switch (message.t) {
        case 'claimed':
          this.replies.get(message.seq)?.(message)
          this.replies.delete(message.seq)
          return
        case 'outcome':
          this.outcomes.get(message.lockId)?.(message.message)
          return
        case 'fill':
          this.fills.get(message.lockId)?.(message.part)
          return
        default:
          for (const handler of this.handlers) handler(message)
      }
    })
  }

  get connected(): boolean {
    return this.process.connected === true
  }

  send(message: ToPrimary): void {
    if (!this.connected) return
    this.process.send?.(message)
  }

  /** Ask for a flight's lock; the primary answers at once. */
  claim(message: Omit<Extract<ToPrimary, { t: 'claim' }>, 't' | 'seq'>): Promise<Claimed> {
    const seq = ++this.seq
    return new Promise((resolve, reject) => {
      if (!this.connected) {
        reject(new Error('the primary is gone'))
        return
      }
      this.replies.set(seq, resolve)
      this.send({ t: 'claim', seq, ...message })
    })
  }

  /** Hear the outcomes of one flight until the returned function is called. */
  listen(lockId: string, listener: (message: string) => void): () => void {
    this.outcomes.set(lockId, listener)
    return () => {
      if (this.outcomes.get(lockId) === listener) this.outcomes.delete(lockId)
    }
  }

  /** Hear the body parts of one flight's fill until the returned function is called. */
  listenFill(lockId: string, listener: (part: FillPart) => void): () => void {
    this.fills.set(lockId, listener)
    return () => {
      if (this.fills.get(lockId) === listener) this.fills.delete(lockId)
    }
  }

  /** Records, deletes and shutdown. */
  on(handler: (message: ToWorker) => void): void {
    this.handlers.push(handler)
  }
}
