/**
 * Live reload (SIGHUP, POST /reload): a new config is read and checked in full before anything
 * changes; a valid one takes effect for the next request (routes, upstreams, cache rules, purge
 * and log settings, the admin token) without dropping a connection or the cache, and an invalid
 * one is refused with every problem named while the running config stays. Settings that shape what
 * was built at start-up (listeners, store, coalescing, server limits, workers) are reported as
 * needing a restart.
 */
import type { Config } from './config/types.js'
import { ConfigError } from './config/index.js'
import type { Runtime } from './runtime.js'
import { AdminError, type ReloadOutcome } from './admin/backend.js'

/** Top-level settings a reload cannot apply to a running process. */
const NEEDS_RESTART = ['listeners', 'server', 'store', 'coalesce'] as const

/** Loads the config again from where it came from (the same file, flags and environment). */
export type ConfigLoader = () => Promise<Config>

export async function loadForReload(load: ConfigLoader): Promise<Config> {
  try {
    return await load()
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new AdminError({ status: 422, code: 'config-invalid', message: `${err.source}: the new config is refused; the running one stays`, details: err.issues })
    }
    throw err
  }
}

/** Re-read, check, apply; counted in corral_reloads_total either way. */
export async function reloadRuntime(rt: Runtime, load: ConfigLoader): Promise<ReloadOutcome> {
  let next: Config
  try {
    next = await loadForReload(load)
  } catch (err) {
    rt.metrics.reloaded(false)
    throw err
  }
  const outcome = applyConfig(rt, next)
  rt.metrics.reloaded(true)
  return outcome
}

export function applyConfig(rt: Runtime, next: Config): ReloadOutcome {
  const before = rt.config
  const restartNeeded: string[] = NEEDS_RESTART.filter((section) => fingerprint(before[section]) !== fingerprint(next[section]))
  if (before.admin.host !== next.admin.host || before.admin.port !== next.admin.port) restartNeeded.push('admin.host/port')
  if (before.log.format !== next.log.format) restartNeeded.push('log.format')
  rt.origins.update(next.upstreams.values())
  rt.proxy.update(next.upstreams.values())
  rt.log.reconfigure(next.log.level, next.log.access, next.log.accessSample)
  rt.config = next
  rt.log.root.info({ config: next.source, routes: next.routes.length, restartNeeded }, 'configuration reloaded')
  return { reloaded: true, config: next.source, restartNeeded }
}

/** A comparable text of a config section (Maps, Sets, RegExps and URLs included). */
export function fingerprint(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Map) return [...(v as Map<unknown, unknown>).entries()]
    if (v instanceof Set) return [...(v as Set<unknown>).values()]
    if (v instanceof RegExp || v instanceof URL) return String(v)
    return v
  })
}
