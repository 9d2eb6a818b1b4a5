/** The long-lived parts every stage may use, built once by the gateway. */
import type { Config } from './config/types.js'
import type { HitForMiss, SingleFlight } from './coalesce/single-flight.js'
import type { GatewayLog } from './log.js'
import type { OriginClient } from './origin/client.js'
import type { FlightOutcome } from './stages/fetch.js'
import type { PassProxy } from './stages/pass.js'
import type { CacheStore } from './store/types.js'

export interface Runtime {
  readonly config: Config
  readonly log: GatewayLog
  readonly store: CacheStore
  readonly origins: OriginClient
  readonly flights: SingleFlight<FlightOutcome>
  readonly hitForMiss: HitForMiss
  readonly proxy: PassProxy
  /** Background refreshes in progress, awaited on shutdown. */
  readonly background: Set<Promise<void>>
}
