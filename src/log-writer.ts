/**
 * The destination of pino's lines on stdout. Lines are encoded straight into a 64 KiB buffer and
 * written, asynchronously, when it is full or 100 ms after its first line: one write(2) per
 * batch instead of per line. That matters on the hit path, where every request writes an access
 * line: sonic-boom (pino's default) spends more on a line than corral spends on a cache hit.
 */
import { write, writeSync } from 'node:fs'

const CHUNK_BYTES = 64 * 1024
/** Above this many bytes waiting (stdout cannot keep up) lines are dropped and counted. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024
const BATCH_DELAY_MS = 100

export class BatchedWriter {
  private chunk: Buffer
  private used = 0
  /** Filled chunks waiting for the write in flight. */
  private readonly queue: Buffer[] = []
  private queuedBytes = 0
  private busy = false
  private timer: NodeJS.Timeout | undefined
  /** Lines dropped because output could not keep up. */
  dropped = 0

  /** `chunkBytes`: the largest write; at most PIPE_BUF when other processes write to the same pipe. */
  constructor(
    private readonly fd: number,
    private readonly chunkBytes = CHUNK_BYTES,
  ) {
    this.chunk = Buffer.allocUnsafe(chunkBytes)
  }

  write(line: string): boolean {
    // A UTF-16 code unit never takes more than 3 bytes in UTF-8.
    if (line.length * 3 > this.chunkBytes - this.used) {
      this.seal()
      if (line.length * 3 > this.chunkBytes) {
        this.enqueue(Buffer.from(line))
        return true
      }
    }
    this.used += this.chunk.write(line, this.used)
    if (!this.busy) this.timer ??= setTimeout(() => this.flush(), BATCH_DELAY_MS).unref()
    return true
  }

  /** Write everything pending now (on exit). */
  flushSync(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.seal()
    for (const buffer of this.queue.splice(0)) writeSync(this.fd, buffer)
    this.queuedBytes = 0
  }

  /** The current chunk joins the queue, and a fresh one takes its place. */
  private seal(): void {
    if (this.used === 0) return
    this.enqueue(this.chunk.subarray(0, this.used))
    this.chunk = Buffer.allocUnsafe(this.chunkBytes)
    this.used = 0
  }

  private enqueue(buffer: Buffer): void {
    if (this.queuedBytes + buffer.length > MAX_QUEUED_BYTES) {
      this.dropped++
      return
    }
    this.queue.push(buffer)
    this.queuedBytes += buffer.length
    if (!this.busy) this.next()
  }

  private flush(): void {
    this.timer = undefined
    this.seal()
  }

  private next(): void {
    const buffer = this.queue.shift()
    if (buffer === undefined) {
      this.busy = false
      if (this.used > 0) this.timer ??= setTimeout(() => this.flush(), BATCH_DELAY_MS).unref()
      return
    }
    this.busy = true
    this.queuedBytes -= buffer.length
    this.writeOut(buffer, 0)
  }

  private writeOut(buffer: Buffer, offset: number): void {
    write(this.fd, buffer, offset, buffer.length - offset, null, (err, written) => {
      if (err !== null) {
        // A non-blocking pipe that is full: try again shortly. Anything else: drop this batch.
        if (err.code === 'EAGAIN') setTimeout(() => this.writeOut(buffer, offset), 10).unref()
        else this.next()
        return
      }
      if (offset + written < buffer.length) this.writeOut(buffer, offset + written)
      else this.next()
    })
  }
}
