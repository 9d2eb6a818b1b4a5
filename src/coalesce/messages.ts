/**
 * What a flight's leader tells the fleet's waiters, as one short string: the same words over
 * Redis pub/sub (redis-lock.ts) and over IPC between worker processes (ipc-lock.ts).
 *   d           stored: read the record
 *   g           nothing for you: look again (and maybe lead)
 *   n{…}        not shareable: fetch your own
 *   x{…}        an impersonal origin 5xx, whole
 *   e{…}        the origin failed
 *   l           the leader's process died: look again, and take over (IPC; Redis has leases)
 */
import { GatewayError, type ErrorCode } from '../errors.js'
import type { Reason } from '../status.js'
import type { FlightOutcome } from './types.js'

export const DONE_MESSAGE = 'd'
export const GIVE_UP_MESSAGE = 'g'
export const HOLDER_LOST_MESSAGE = 'l'
const NOT_SHAREABLE = 'n'
const SHARED_ERROR = 'x'
const ORIGIN_ERROR = 'e'

/** What the waiters are told when the leader releases without storing. */
export function messageFor(outcome: FlightOutcome): string {
  switch (outcome.kind) {
    case 'not-shareable':
      return NOT_SHAREABLE + JSON.stringify({ reason: outcome.reason, status: outcome.originStatus, remembered: outcome.remembered })
    case 'shared-error':
      return (
        SHARED_ERROR +
        JSON.stringify({
          status: outcome.status,
          headers: outcome.headers,
          body: outcome.body.toString('base64'),
          vary: outcome.vary,
          selector: outcome.selector,
          varySignature: outcome.varySignature,
        })
      )
    case 'error':
      return ORIGIN_ERROR + JSON.stringify({ code: outcome.error.code, message: outcome.error.message })
    case 'found':
      return DONE_MESSAGE
    // An entry released here was not stored in Redis (its fill would have released the lock):
    // the waiters cannot read it, so they try again, and one of them fetches.
    case 'entry':
    case 'fill':
    case 'give-up':
    case 'timeout':
      return GIVE_UP_MESSAGE
  }
}

export function outcomeFrom(message: string): FlightOutcome | undefined {
  let data: Record<string, unknown>
  try {
    data = JSON.parse(message.slice(1)) as Record<string, unknown>
  } catch {
    return undefined
  }
  switch (message[0]) {
    case NOT_SHAREABLE:
      return { kind: 'not-shareable', reason: data.reason as Reason, originStatus: Number(data.status), remembered: data.remembered === true }
    case SHARED_ERROR:
      return {
        kind: 'shared-error',
        status: Number(data.status),
        headers: data.headers as Record<string, string | string[]>,
        body: Buffer.from(String(data.body), 'base64'),
        vary: data.vary as string[],
        selector: String(data.selector),
        varySignature: String(data.varySignature),
      }
    case ORIGIN_ERROR:
      return { kind: 'error', error: new GatewayError(data.code as ErrorCode, String(data.message)) }
    default:
      return undefined
  }
}

