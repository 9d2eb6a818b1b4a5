/**
 * Layered coalescing: this process first, then the fleet. Only the local leader of a flight asks
 * the fleet lock (worker processes over IPC, or instances through Redis), so a crowd of N requests
 * in one process costs the fleet one claim; what the fleet answers settles the local flight too,
 * and local followers get it without another round trip.
 */
import { SingleFlight, type Role as LocalRole } from './single-flight.js'
import type { FlightOutcome, FlightRequest, FleetLock, Role } from './types.js'

const TIMEOUT: FlightOutcome = Object.freeze({ kind: 'timeout' })
const GIVE_UP: FlightOutcome = Object.freeze({ kind: 'give-up' })

/** Background refreshes known to run elsewhere in the fleet, remembered at most this many at once. */
const MAX_REFRESHING_ELSEWHERE = 10_000

export interface CoalesceStats {
  /** Flights under way in this process. */
  readonly flights: number
  /** Requests waiting on them. */
  readonly waiting: number
  /** Local leaders waiting on a flight led elsewhere in the fleet (their own followers count in `waiting`). */
  readonly waitingOnFleet: number
}

export class Coalescer {
  private readonly local = new SingleFlight<FlightOutcome>()
  /** Flights another fleet member refreshes in the background, and until when its lease runs. */
  private readonly refreshingElsewhere = new Map<string, number>()
  private claiming = 0

  constructor(readonly fleet: FleetLock | undefined) {}

  claim(flight: FlightRequest): Role | Promise<Role> {
    const local = this.local.join(flight.lockId)
    if (local.role === 'follower') {
      return { role: 'follower', wait: (early) => local.wait(flight.waitMs, early).then((o) => (o === 'timeout' ? TIMEOUT : o)) }
    }
    if (this.fleet === undefined || flight.scope === 'local') return localLeader(local, 'leader')
    return this.claimFleet(this.fleet, flight, local)
  }

  /**
   * Lead a background refresh if nobody leads this flight, here or in the fleet; undefined when
   * someone does (the caller serves what it has: UPDATING).
   */
  tryLead(flight: FlightRequest): Extract<Role, { role: 'leader' }> | undefined | Promise<Extract<Role, { role: 'leader' }> | undefined> {
    if (this.local.isRunning(flight.lockId)) return undefined
    const until = this.refreshingElsewhere.get(flight.lockId)
    if (until !== undefined) {
      if (until > Date.now()) return undefined
      this.refreshingElsewhere.delete(flight.lockId)
    }
    const local = this.local.join(flight.lockId)
    if (local.role === 'follower') return undefined
    const fleet = this.fleet
    if (fleet === undefined || flight.scope === 'local') return localLeader(local, 'leader')
    return fleet.tryClaim(flight).then((tried) => {
      switch (tried.kind) {
        case 'leader':
          return fleetLeader(fleet, tried.lease, false, local)
        case 'busy':
          if (this.refreshingElsewhere.size >= MAX_REFRESHING_ELSEWHERE) this.refreshingElsewhere.clear()
          this.refreshingElsewhere.set(flight.lockId, Date.now() + tried.forMs)
          local.settle(GIVE_UP)
          return undefined
        case 'unavailable':
          return localLeader(local, 'fallback')
      }
    })
  }

  stats(): CoalesceStats {
    return { flights: this.local.size, waiting: this.local.waiting, waitingOnFleet: this.claiming }
  }

  private async claimFleet(fleet: FleetLock, flight: FlightRequest, local: LocalLead): Promise<Role> {
    this.claiming++
    let claimed
    try {
      claimed = await fleet.claim(flight)
    } finally {
      this.claiming--
    }
    switch (claimed.kind) {
      case 'leader':
        return fleetLeader(fleet, claimed.lease, claimed.takeover, local)
      case 'outcome':
        local.settle(claimed.outcome)
        return settled(claimed.outcome)
      case 'unavailable':
        return localLeader(local, 'fallback')
      case 'timeout':
        if (flight.fetchOnTimeout) return localLeader(local, 'fallback')
        local.settle(TIMEOUT)
        return settled(TIMEOUT)
    }
  }
}

/** This process's lead of a flight. */
type LocalLead = Extract<LocalRole<FlightOutcome>, { role: 'leader' }>

function localLeader(local: LocalLead, lockRole: 'leader' | 'fallback'): Extract<Role, { role: 'leader' }> {
  return { role: 'leader', lockRole, lease: undefined, settle: local.settle, announce: local.announce }
}

function fleetLeader(
  fleet: FleetLock,
  lease: NonNullable<Extract<Role, { role: 'leader' }>['lease']>,
  takeover: boolean,
  local: LocalLead,
): Extract<Role, { role: 'leader' }> {
  return {
    role: 'leader',
    lockRole: takeover ? 'takeover' : 'leader',
    lease,
    settle: (outcome) => {
      fleet.release(lease, outcome)
      local.settle(outcome)
    },
    // A fill streams to this process's followers, and to sibling workers' where the lock relays it.
    announce: (outcome) => {
      local.announce(outcome)
      fleet.announce?.(lease, outcome)
    },
  }
}

/** A follower whose flight is already over: the fleet answered while this request was the local leader. */
function settled(outcome: FlightOutcome): Role {
  return { role: 'follower', wait: () => Promise.resolve(outcome) }
}
