/**
 * The connection to Redis (one server, or a Redis Cluster) that fleet mode shares: the scripts
 * of lua/ loaded once with ioredis `defineCommand` (EVALSHA, reloaded on NOSCRIPT), a circuit
 * breaker in front of every call, the key layout, and the pub/sub channels.
 *
 * Fail open: commands are never queued while Redis is away (offline queue off, no retries) and
 * time out after `timeout`; callers treat a rejection as "no Redis this time" and go on.
 */
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { RedisStoreConfig } from '../config/types.js'
import type { GatewayLog } from '../log.js'
import { FORMAT_VERSION } from '../store/codec.js'
import { primaryOf } from '../store/ids.js'
import { Breaker, type BreakerState } from './breaker.js'

/** Each script of lua/ becomes a command of this name; start-up fails when one is missing. */
const SCRIPTS = ['lookupOrLock', 'renew', 'release', 'store', 'replace'] as const

/** The typed calls of lua/*.lua; src/redis/scripts.ts owns their KEYS and ARGV order. */
export interface ScriptCommands {
  lookupOrLockBuffer(
    record: string,
    lock: string,
    hitForMiss: string,
    outcome: string,
    token: string,
    leaseMs: number,
    seen: string,
    waitedFor: string,
  ): Promise<[number, (Buffer | number)?, Buffer?]>
  renew(lock: string, token: string, leaseMs: number): Promise<number>
  replace(record: string, version: string, value: Buffer): Promise<number>
  release(
    lock: string,
    hitForMiss: string,
    outcome: string,
    token: string,
    channel: string,
    publish: string,
    message: string,
    hitForMissMs: number,
    reason: string,
    keepMs: number,
  ): Promise<number>
  store(
    lock: string,
    hitForMiss: string,
    recordA: string,
    recordB: string,
    token: string,
    channel: string,
    publish: string,
    message: string,
    valueA: Buffer,
    ttlA: number,
    valueB: Buffer | '',
    ttlB: number,
  ): Promise<number>
}

export type Client = (Redis | Cluster) & ScriptCommands

export class RedisUnavailable extends Error {
  override readonly name = 'RedisUnavailable'
}

export interface RedisStats {
  /** Calls that failed (errors and timeouts). */
  errors: number
  /** Of which timeouts. */
  timeouts: number
  /** Calls not made because the breaker was open. */
  skipped: number
  /** Times the breaker opened. */
  breakerOpens: number
}

type Listener = (message: string) => void

export class RedisConnection {
  readonly client: Client
  /** `<namespace>:v<format>:` — a release with another record format never reads these keys. */
  readonly prefix: string
  /** This process, in bus messages: a member ignores its own. */
  readonly instanceId = randomBytes(6).toString('base64url')
  readonly stats: RedisStats = { errors: 0, timeouts: 0, skipped: 0, breakerOpens: 0 }
  private readonly breaker: Breaker
  private readonly subscriber: Redis | Cluster
  private readonly listeners = new Map<string, Set<Listener>>()
  /** Channels listened on for the connection's whole life (the bus), subscribed whenever it (re)connects. */
  private readonly always = new Map<string, Listener>()
  private readonly reconnectHandlers: Array<() => void> = []
  /** PUBLISH/SUBSCRIBE, or their sharded forms (Redis >= 7): decided once connected. */
  private sharded: boolean | undefined
  private subscriberReadyBefore = false
  private closed = false

  constructor(
    readonly config: RedisStoreConfig,
    private readonly log: GatewayLog,
  ) {
    this.prefix = `${config.prefix}:v${FORMAT_VERSION}:`
    this.breaker = new Breaker(config.breakerFailures, config.breakerCooldownMs, (state, previous, err) => this.changed(state, previous, err))
    const options: RedisOptions = {
      connectTimeout: config.connectTimeoutMs,
      commandTimeout: config.commandTimeoutMs,
      // Fail open: a command while Redis is away fails at once instead of waiting for it.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(100 * times, 2_000),
      enableAutoPipelining: true,
    }
    if (config.cluster !== undefined) {
      const seeds = config.cluster.map((url) => new URL(url))
      const first = seeds[0] as URL
      this.client = new Cluster(
        seeds.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
        {
          redisOptions: { ...options, ...credentials(first) },
          enableOfflineQueue: false,
          enableAutoPipelining: true,
          shardedSubscribers: true,
          clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
        },
      ) as Client
      // Cluster subscribes on connections of its own (one per shard for sharded channels).
      this.subscriber = this.client
    } else {
      const client = new Redis(config.url ?? 'redis://127.0.0.1:6379', options)
      this.client = client as Client
      // A connection that subscribes can do nothing else: the subscriber gets its own.
      this.subscriber = client.duplicate()
    }
    for (const name of SCRIPTS) this.client.defineCommand(name, script(name))
    this.client.on('error', (err: unknown) => this.log.redisError(err))
    this.client.on('ready', () => this.connected())
    if (this.subscriber !== this.client) {
      this.subscriber.on('error', (err: unknown) => this.log.redisError(err))
    }
    this.subscriber.on('ready', () => {
      this.subscribeAlways()
      if (this.subscriberReadyBefore) for (const handler of this.reconnectHandlers) handler()
      this.subscriberReadyBefore = true
    })
    // Waiters would not hear a "done" sent while the subscriber is away: wake them to look again.
    this.subscriber.on('close', () => this.interruptWaiters())
    this.subscriber.on('message', (channel: string, message: string) => this.dispatch(channel, message))
    this.subscriber.on('smessage', (channel: string, message: string) => this.dispatch(channel, message))
  }

  /** Whether Redis may be asked now (connected, and the breaker lets calls through). */
  get available(): boolean {
    return this.client.status === 'ready' && this.sharded !== undefined && !this.breaker.isBlocking
  }

  /** Resolves once Redis can be asked (connected, pub/sub mode known), or false after `timeoutMs`. */
  async whenAvailable(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs
    while (!this.available) {
      if (Date.now() >= until) return false
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    return true
  }

  get breakerState(): BreakerState {
    return this.breaker.state
  }

  get publishCommand(): 'PUBLISH' | 'SPUBLISH' {
    return this.sharded === true ? 'SPUBLISH' : 'PUBLISH'
  }

  /** `<prefix>{<primary>}<rest>:<suffix>`: every key of a URI in the slot of its primary id. */
  key(id: string, suffix: string): string {
    const primary = primaryOf(id)
    return `${this.prefix}{${primary}}${id.slice(primary.length)}:${suffix}`
  }

  /** The one channel every member listens on (L1 coherence), in one slot. */
  get busChannel(): string {
    return `${this.prefix}{bus}`
  }

  /** Run a call through the breaker; rejects at once with RedisUnavailable when Redis is skipped. */
  async run<T>(call: (client: Client) => Promise<T>): Promise<T> {
    if (this.client.status !== 'ready' || this.sharded === undefined || !this.breaker.allow()) {
      this.stats.skipped++
      throw new RedisUnavailable('redis unavailable')
    }
    try {
      const result = await call(this.client)
      this.breaker.success()
      return result
    } catch (err) {
      this.stats.errors++
      if (err instanceof Error && /timed out/i.test(err.message)) this.stats.timeouts++
      this.breaker.failure(err)
      throw err
    }
  }

  /** Listen on a channel until the returned function is called. Rejects when Redis is away. */
  async listen(channel: string, listener: Listener): Promise<() => void> {
    let set = this.listeners.get(channel)
    const first = set === undefined
    if (set === undefined) {
      set = new Set()
      this.listeners.set(channel, set)
    }
    set.add(listener)
    if (first) {
      try {
        await this.run(() => (this.sharded === true ? this.subscriber.ssubscribe(channel) : this.subscriber.subscribe(channel)))
      } catch (err) {
        this.unlisten(channel, listener)
        throw err
      }
    }
    return () => this.unlisten(channel, listener)
  }

  /**
   * Listen on a channel for as long as the connection lives, from whenever Redis is reachable: now,
   * or once it comes (back). Never rejects.
   */
  listenAlways(channel: string, listener: Listener): void {
    this.always.set(channel, listener)
    let set = this.listeners.get(channel)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(channel, set)
    }
    set.add(listener)
    this.subscribeAlways()
  }

  /** Called after the subscriber reconnected: messages sent meanwhile were lost. */
  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler)
  }

  async close(): Promise<void> {
    this.closed = true
    const quit = async (c: Redis | Cluster): Promise<void> => {
      try {
        await c.quit()
      } catch {
        c.disconnect()
      }
    }
    await Promise.all([quit(this.client), this.subscriber === this.client ? undefined : quit(this.subscriber)])
  }

  private unlisten(channel: string, listener: Listener): void {
    const set = this.listeners.get(channel)
    if (set === undefined) return
    set.delete(listener)
    if (set.size > 0 || this.always.has(channel)) return
    this.listeners.delete(channel)
    if (this.closed || this.subscriber.status !== 'ready') return
    const unsubscribed = this.sharded === true ? this.subscriber.sunsubscribe(channel) : this.subscriber.unsubscribe(channel)
    unsubscribed.catch(() => undefined)
  }

  private subscribeAlways(): void {
    if (this.sharded === undefined || this.subscriber.status !== 'ready' || this.always.size === 0) return
    const channels = [...this.always.keys()]
    // Subscribing to a channel twice is harmless: after a reconnect ioredis may have done it already.
    const subscribed = this.sharded ? Promise.all(channels.map((c) => this.subscriber.ssubscribe(c))) : this.subscriber.subscribe(...channels)
    subscribed.catch((err: unknown) => this.log.redisError(err))
  }

  /** An empty message: "look again" to whoever waits on a flight (src/coalesce/redis-lock.ts). */
  private interruptWaiters(): void {
    for (const [channel, set] of this.listeners) {
      if (this.always.has(channel)) continue
      for (const listener of set) listener('')
    }
  }

  private dispatch(channel: string, message: string): void {
    const set = this.listeners.get(channel)
    if (set === undefined) return
    for (const listener of set) listener(message)
  }

  private connected(): void {
    this.breaker.success()
    if (this.sharded !== undefined) return
    // Sharded pub/sub (SPUBLISH, Redis >= 7) keeps a message on its shard instead of every node.
    const info: Promise<string> = this.client instanceof Cluster ? this.client.nodes('master')[0]?.info('server') ?? Promise.resolve('') : this.client.info('server')
    info.then(
      (text) => {
        const major = Number(/redis_version:(\d+)/.exec(text)?.[1] ?? '0')
        this.sharded = major >= 7
        this.log.redisConnected({ prefix: this.prefix, pubsub: this.sharded ? 'sharded' : 'classic' })
        this.subscribeAlways()
      },
      (err: unknown) => this.log.redisError(err),
    )
  }

  private changed(state: BreakerState, previous: BreakerState, err: unknown): void {
    if (state === 'open') {
      this.stats.breakerOpens++
      // One line when Redis goes away, not one per probe that finds it still gone.
      if (previous === 'closed') this.log.redisDegraded(err)
    } else if (state === 'closed' && previous !== 'closed') {
      this.log.redisRecovered()
    }
  }
}

/** User, password and TLS from a redis:// or rediss:// URL, for the cluster's node connections. */
function credentials(url: URL): Partial<RedisOptions> {
  const out: Partial<RedisOptions> = {}
  if (url.username !== '') out.username = decodeURIComponent(url.username)
  if (url.password !== '') out.password = decodeURIComponent(url.password)
  if (url.protocol === 'rediss:') out.tls = {}
  return out
}

const LUA_DIR = new URL('../../lua/', import.meta.url)

/** `name-<numKeys>.lua` from lua/, next to dist/ and src/ alike. */
function script(name: string): { numberOfKeys: number; lua: string } {
  const files = readdirSync(LUA_DIR).filter((file) => file.startsWith(`${name}-`) && file.endsWith('.lua'))
  const file = files[0]
  const numberOfKeys = Number(/-(\d+)\.lua$/.exec(file ?? '')?.[1])
  if (file === undefined || files.length > 1 || !Number.isInteger(numberOfKeys)) {
    throw new Error(`lua/${name}-<numKeys>.lua: expected exactly one such script in ${LUA_DIR.pathname}`)
  }
  return { numberOfKeys, lua: readFileSync(new URL(file, LUA_DIR), 'utf8') }
}
