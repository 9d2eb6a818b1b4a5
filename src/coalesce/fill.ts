/**
 * A body on its way from the origin to the store, shared while it arrives: the flight's leader
 * pushes the origin's chunks, and every client of the flight (the leader's own and its followers,
 * and through the primary those of sibling worker processes) reads them as they come, from the
 * first byte, whenever it joined. What is kept is what the entry will hold, so that a late reader
 * gets the start; nothing is stored until the body is whole.
 *
 * Past the route's maxObjectSize the body will not be stored: the fill stops keeping chunks (and
 * takes no new readers), and those already reading go on to the end.
 */
import type { ServerResponse } from 'node:http'
import type { CacheEntry } from '../store/types.js'

export type FillState = 'open' | 'complete' | 'failed'

/** Where a fill's body goes: a client's response, or the IPC relay to sibling workers. */
export interface FillSink {
  /** false: the sink is full (backpressure). */
  write(chunk: Buffer): boolean
  end(): void
  /** The body broke: cut what was sent. */
  fail(): void
  /** The fill stopped keeping chunks (too large to store): nobody new can join. */
  stopped?(): void
}

export class Fill {
  private readonly chunks: Buffer[] = []
  private readonly sinks = new Set<FillSink>()
  private bytesIn = 0
  private keeping = true
  private stateNow: FillState = 'open'
  /** The reader whose writes hold back the origin once the body is past the limit (the leader's client). */
  private paced: ServerResponse | undefined

  /**
   * `head`: the entry as it will be stored, without its body (the fields, freshness and validators
   * are known from the head). `length`: the origin's Content-Length, if it sent one.
   */
  constructor(
    readonly head: CacheEntry,
    readonly length: number | undefined,
    private readonly limit: number,
    /** Hold back and let go the origin's body (past the limit, for the paced reader). */
    private readonly pause: () => void = noop,
    private readonly resume: () => void = noop,
  ) {}

  get state(): FillState {
    return this.stateNow
  }

  /** Still keeping every chunk: a new reader can start from the first byte. */
  get joinable(): boolean {
    return this.keeping && this.stateNow !== 'failed'
  }

  /** The whole body, once complete and within the limit. */
  body(): Buffer | undefined {
    if (this.stateNow !== 'complete' || !this.keeping) return undefined
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.bytesIn)
  }

  push(chunk: Buffer): void {
    this.bytesIn += chunk.length
    if (this.keeping && this.bytesIn > this.limit) this.stopKeeping()
    else if (this.keeping) this.chunks.push(chunk)
    for (const sink of this.sinks) sink.write(chunk)
  }

  /** Keep no more of the body (it will not be stored): readers already there go on, nobody new joins. */
  stopKeeping(): void {
    if (!this.keeping) return
    this.keeping = false
    this.chunks.length = 0
    for (const sink of this.sinks) sink.stopped?.()
  }

  end(): void {
    if (this.stateNow !== 'open') return
    this.stateNow = 'complete'
    for (const sink of this.sinks) sink.end()
    this.sinks.clear()
  }

  /** The origin's body broke: every reader's response is cut (as a proxy must: the length would lie). */
  fail(): void {
    if (this.stateNow !== 'open') return
    this.stateNow = 'failed'
    this.chunks.length = 0
    for (const sink of this.sinks) sink.fail()
    this.sinks.clear()
  }

  /**
   * Feed `sink` what has arrived, then the rest as it comes. False when the start is gone (too
   * large to keep, or broken) and nothing was given; a complete fill is given whole at once.
   * `detach` stops feeding it.
   */
  tap(sink: FillSink): { joined: boolean; detach: () => void } {
    const none = { joined: false, detach: noop }
    if (this.stateNow === 'failed' || (!this.keeping && this.bytesIn > 0)) return none
    for (const chunk of this.chunks) sink.write(chunk)
    if (this.stateNow === 'complete') {
      sink.end()
      return { joined: true, detach: noop }
    }
    if (!this.keeping) sink.stopped?.()
    this.sinks.add(sink)
    return { joined: true, detach: () => this.sinks.delete(sink) }
  }

  /**
   * Send the body to `res` (its head already written) and resolve when the response is finished or
   * cut; false when the fill could not be joined, and nothing was written. `paced`: the origin
   * waits for this reader once the body is past the limit (the leader's own client, as a plain
   * pass-through would).
   */
  readInto(res: ServerResponse, paced = false): Promise<boolean> {
    return new Promise((resolve) => {
      let detach = noop
      const finish = (): void => {
        res.off('close', onClose)
        detach()
        if (this.paced === res) {
          this.paced = undefined
          this.resume()
        }
        resolve(true)
      }
      const onClose = (): void => finish()
      const sink: FillSink = {
        write: (chunk) => {
          const flowing = res.write(chunk)
          if (!flowing && !this.keeping && this.paced === res) {
            this.pause()
            res.once('drain', this.resume)
          }
          return flowing
        },
        end: () => {
          res.end()
          finish()
        },
        fail: () => {
          res.destroy()
          finish()
        },
      }
      if (paced) this.paced = res
      const tapped = this.tap(sink)
      if (!tapped.joined) {
        if (this.paced === res) this.paced = undefined
        resolve(false)
        return
      }
      detach = tapped.detach
      if (this.stateNow === 'open') res.once('close', onClose)
    })
  }

  /**
   * The whole body, once it has arrived; undefined when it broke or grew past the limit (it will
   * not be stored). For a reader that needs all of it before it can answer (a Range request).
   */
  whole(): Promise<Buffer | undefined> {
    if (this.stateNow !== 'open') return Promise.resolve(this.body())
    if (!this.keeping) return Promise.resolve(undefined)
    return new Promise((resolve) => {
      const sink: FillSink = {
        write: () => true,
        end: () => resolve(this.body()),
        fail: () => resolve(undefined),
        // Not a reader the origin's body should be read on for.
        stopped: () => {
          this.sinks.delete(sink)
          resolve(undefined)
        },
      }
      this.sinks.add(sink)
    })
  }

  /** Readers now (clients and relays). */
  get readerCount(): number {
    return this.sinks.size
  }
}

function noop(): void {}
