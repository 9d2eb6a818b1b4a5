/** Messages for one waiter, taken one at a time, each wait bounded: a fleet lock's follower side. */
export class Mailbox {
  private readonly queue: string[] = []
  private waiting: ((message: string | undefined) => void) | undefined

  put(message: string): void {
    if (this.waiting !== undefined) {
      const wake = this.waiting
      this.waiting = undefined
      wake(message)
    } else {
      this.queue.push(message)
    }
  }

  /** The next message, or undefined after `ms`. */
  take(ms: number): Promise<string | undefined> {
    const queued = this.queue.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined
        resolve(undefined)
      }, ms)
      this.waiting = (message) => {
        clearTimeout(timer)
        resolve(message)
      }
    })
  }
}
