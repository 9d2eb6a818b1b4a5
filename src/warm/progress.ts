/**
 * Progress on stderr while a warm run goes. On a terminal: one line redrawn in place at most ten
 * times a second (a bar, done/total, rate, counts by X-Cache-Status, errors, ETA), cut to the
 * terminal's width so it never wraps. Elsewhere (a log, CI): a plain line at each further tenth of
 * the run, at most one a second, and one every few seconds while nothing else is said.
 */
import { cacheCounts, formatRate, type Tally } from './tally.js'

const REDRAW_MS = 100
const PLAIN_MIN_GAP_MS = 1_000
const PLAIN_HEARTBEAT_MS = 5_000

export interface ProgressStream {
  write(text: string): unknown
  readonly isTTY?: boolean
  readonly columns?: number
}

export interface Progress {
  /** a URL finished */
  tick(): void
  /** the run ended: the final state, and the line ends */
  finish(): void
}

export function createProgress(stream: ProgressStream, tally: Tally, quiet: boolean): Progress {
  if (quiet) return { tick: () => undefined, finish: () => undefined }
  return stream.isTTY === true ? new Bar(stream, tally) : new PlainLines(stream, tally)
}

/**
 * The recent rate: URLs finished per second over the last few seconds (the run's average at its
 * start), so that the rate and the ETA follow a target that slows down or speeds up.
 */
export class RecentRate {
  private readonly samples: Array<{ at: number; done: number }> = []

  constructor(
    private readonly tally: Tally,
    private readonly windowMs = 5_000,
  ) {}

  get perSecond(): number {
    const now = performance.now()
    this.samples.push({ at: now, done: this.tally.done })
    while (this.samples.length > 2 && now - (this.samples[1]?.at ?? now) >= this.windowMs) this.samples.shift()
    const first = this.samples[0]
    if (first === undefined || now - first.at < 1_000) return this.tally.rate
    return ((this.tally.done - first.done) / (now - first.at)) * 1000
  }
}

/** `523/1000 52%  412/s  MISS 500 HIT 23  errors 0  ETA 1.2 s` */
export function progressText(tally: Tally, rate = tally.rate): string {
  const total = tally.totalKnown ? String(tally.read) : `${tally.read}+`
  const pct = tally.totalKnown && tally.read > 0 ? ` ${Math.floor((tally.done / tally.read) * 100)}%` : ''
  const counts = Object.entries(cacheCounts(tally.cacheStatus))
    .map(([name, n]) => `${name} ${n}`)
    .join(' ')
  const left = tally.read - tally.done
  const eta = tally.totalKnown && rate > 0 && left > 0 ? `  ETA ${formatEta(left / rate)}` : ''
  return `${tally.done}/${total}${pct}  ${formatRate(rate)}${counts === '' ? '' : `  ${counts}`}  errors ${tally.failed}${eta}`
}

class Bar implements Progress {
  private readonly timer: NodeJS.Timeout
  private dirty = true
  private lastWidth = 0
  private readonly rate: RecentRate

  constructor(
    private readonly stream: ProgressStream,
    private readonly tally: Tally,
  ) {
    this.rate = new RecentRate(tally)
    this.timer = setInterval(() => this.draw(), REDRAW_MS)
    this.timer.unref()
    this.draw()
  }

  tick(): void {
    this.dirty = true
  }

  finish(): void {
    clearInterval(this.timer)
    this.dirty = true
    this.draw()
    this.stream.write('\n')
  }

  private draw(): void {
    if (!this.dirty) return
    this.dirty = false
    const columns = Math.max(20, (this.stream.columns || 80) - 1)
    const text = progressText(this.tally, this.rate.perSecond)
    const barWidth = Math.min(30, columns - text.length - 3)
    let line = text
    if (barWidth >= 10) {
      const fraction = this.tally.totalKnown && this.tally.read > 0 ? this.tally.done / this.tally.read : 0
      const full = Math.floor(fraction * barWidth)
      line = `[${'#'.repeat(full)}${'-'.repeat(barWidth - full)}] ${text}`
    }
    if (line.length > columns) line = line.slice(0, columns)
    // \r and clear to the end of the line: a shorter line leaves nothing of the last one behind
    this.stream.write(`\r${line}${line.length < this.lastWidth ? '\x1b[K' : ''}`)
    this.lastWidth = line.length
  }
}

class PlainLines implements Progress {
  private readonly timer: NodeJS.Timeout
  private lastAt = performance.now()
  private lastTenth = 0
  private readonly rate: RecentRate

  constructor(
    private readonly stream: ProgressStream,
    private readonly tally: Tally,
  ) {
    this.rate = new RecentRate(tally)
    this.timer = setInterval(() => {
      if (performance.now() - this.lastAt >= PLAIN_HEARTBEAT_MS) this.say()
    }, 1_000)
    this.timer.unref()
  }

  tick(): void {
    if (!this.tally.totalKnown || this.tally.read === 0) return
    const tenth = Math.floor((this.tally.done / this.tally.read) * 10)
    if (tenth <= this.lastTenth || tenth >= 10) return // the summary says 100%
    if (performance.now() - this.lastAt < PLAIN_MIN_GAP_MS) return
    this.lastTenth = tenth
    this.say()
  }

  finish(): void {
    clearInterval(this.timer)
  }

  private say(): void {
    this.lastAt = performance.now()
    this.stream.write(`corral warm: ${progressText(this.tally, this.rate.perSecond)}\n`)
  }
}

/** Whole seconds, rounded up: `4s`, `2m05s`, `1h30m`. */
export function formatEta(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}
