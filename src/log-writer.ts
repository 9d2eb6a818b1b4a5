/**
 * The destination of pino's lines on stdout: lines are gathered and written together,
 * asynchronously, when 64 KiB are pending or 100 ms after the first one. One write(2) per batch
 * instead of per line matters on the hit path, where every request writes an access line;
 * sonic-boom (pino's default) spends more on a line than corral spends on a cache hit.
 */
import { write, writeSync } from 'node:fs'

/** Above this much pending text (the disk or the pipe cannot keep up) lines are dropped and counted. */
const MAX_PENDING_CHARS = 16 * 1024 * 1024
const BATCH_CHARS = 64 * 1024
const BATCH_DELAY_MS = 100

export class BatchedWriter {
  private pending: string[] = []
  private pendingChars = 0
  private busy = false
  private timer: NodeJS.Timeout | undefined
  /** Lines dropped because output could not keep up. */
  dropped = 0

  constructor(private readonly fd: number) {}

  write(line: string): boolean {
    if (this.pendingChars + line.length > MAX_PENDING_CHARS) {
      this.dropped++
      return true
    }
    this.pending.push(line)
    this.pendingChars += line.length
    if (this.busy) return true
    if (this.pendingChars >= BATCH_CHARS) this.start()
    else this.timer ??= setTimeout(() => this.start(), BATCH_DELAY_MS).unref()
    return true
  }

  private start(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.busy) return
    this.busy = true
    this.writePending()
  }

  /** Write everything pending now (on exit). */
  flushSync(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.pending.length === 0) return
    const data = this.pending.join('')
    this.pending = []
    this.pendingChars = 0
    writeSync(this.fd, data)
  }

  private writePending(): void {
    if (this.pending.length === 0) {
      this.busy = false
      return
    }
    const data = Buffer.from(this.pending.join(''))
    this.pending = []
    this.pendingChars = 0
    this.writeOut(data, 0)
  }

  /** One batch is out: start the next at once if it is full, else when its delay is up. */
  private written(): void {
    this.busy = false
    if (this.pendingChars >= BATCH_CHARS) this.start()
    else if (this.pending.length > 0) this.timer ??= setTimeout(() => this.start(), BATCH_DELAY_MS).unref()
  }

  private writeOut(data: Buffer, offset: number): void {
    write(this.fd, data, offset, data.length - offset, null, (err, written) => {
      if (err !== null) {
        // A non-blocking pipe that is full: try again shortly. Anything else: drop this batch.
        if (err.code === 'EAGAIN') setTimeout(() => this.writeOut(data, offset), 10).unref()
        else this.written()
        return
      }
      if (offset + written < data.length) this.writeOut(data, offset + written)
      else this.written()
    })
  }
}
