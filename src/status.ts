/** The outcome of a request, as X-Cache-Status (nginx's vocabulary), log field and metric label. */
export type CacheStatus =
  | 'HIT' //          fresh entry served
  | 'MISS' //         nothing usable stored; origin fetched
  | 'EXPIRED' //      stale entry; fetched again (origin sent a full response)
  | 'REVALIDATED' //  stale entry; origin said 304 and the entry was refreshed
  | 'STALE' //        stale entry served (stale-while-revalidate or stale-if-error)
  | 'UPDATING' //     stale entry served while another request refreshes it
  | 'BYPASS' //       a rule, the method or the request skipped the cache

/** Why a response was not stored or the cache was skipped: log field and metric label. */
export type Reason =
  | 'METHOD' //            method is not cacheable (only GET and HEAD are)
  | 'ROUTE_NO_CACHE' //    the route turns caching off
  | 'BYPASS_RULE' //       a route bypass condition matched
  | 'UPGRADE' //           WebSocket or other protocol upgrade
  | 'NO_STORE' //          Cache-Control: no-store (request or response)
  | 'PRIVATE' //           Cache-Control: private
  | 'AUTHORIZATION' //     request had Authorization and the response did not allow sharing
  | 'SET_COOKIE' //        response sets a cookie
  | 'VARY_STAR' //         Vary: *
  | 'STATUS' //            status not cacheable (e.g. 5xx without explicit freshness or a rule)
  | 'NO_FRESHNESS' //      no explicit or configured freshness
  | 'TOO_LARGE' //         body larger than the route's max object size
  | 'PARTIAL' //           206 or a range request
  | 'HIT_FOR_MISS' //      key recently proved uncacheable: not coalesced
  | 'ORIGIN_ERROR' //      origin unreachable, timed out or broke the response
  | 'STORAGE_ERROR' //     the store failed; served without storing
  | 'PURGED' //            fetched before a purge that names it, which came while the fetch ran; not stored
  | 'LOCK_LOST' //         the flight's lease went to another fleet member meanwhile; not stored over its fill
  | 'LOCK_TIMEOUT' //      waited for another request's fetch until the route's bound
  | 'ONLY_IF_CACHED' //    request said only-if-cached and nothing usable was stored

