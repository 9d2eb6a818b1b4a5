/**
 * A circuit breaker for Redis: after `threshold` consecutive failures (errors or timeouts) it
 * opens, and Redis is skipped entirely — requests go on with L1, local coalescing and the
 * origin, without waiting on a dead server. After `cooldownMs` one call is let through as a probe;
 * its success closes the breaker, its failure opens it again. A reconnect closes it too.
 */
export type BreakerState = 'closed' | 'open' | 'half-open'

export class Breaker {
  private failures = 0
  private openUntil = 0
  private probing = false
  private current: BreakerState = 'closed'

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
    /** Told of every change of state, with the failure that opened it. */
    private readonly onChange: (state: BreakerState, previous: BreakerState, err?: unknown) => void,
  ) {}

  get state(): BreakerState {
    return this.current
  }

  /** Open and still cooling down: no call would be let through now. */
  get isBlocking(): boolean {
    return this.current === 'open' && Date.now() < this.openUntil
  }

  /** May a call go through now? In half-open, one at a time. */
  allow(): boolean {
    if (this.current === 'closed') return true
    if (this.current === 'open') {
      if (Date.now() < this.openUntil) return false
      this.set('half-open')
    }
    if (this.probing) return false
    this.probing = true
    return true
  }

  success(): void {
    this.failures = 0
    this.probing = false
    if (this.current !== 'closed') this.set('closed')
  }

  failure(err: unknown): void {
    this.probing = false
    this.failures++
    if (this.current === 'half-open' || (this.current === 'closed' && this.failures >= this.threshold)) {
      this.openUntil = Date.now() + this.cooldownMs
      this.set('open', err)
    }
  }

  private set(state: BreakerState, err?: unknown): void {
    const previous = this.current
    this.current = state
    this.onChange(state, previous, err)
  }
}
