/**
 * Streaming to waiters across worker processes (`--workers 2`, no Redis): a body that one worker
 * reads from the origin reaches the clients waiting on the other worker as it arrives, through
 * the primary; one origin request, and the entry is a hit on both workers afterwards.
 */
import { Agent } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startCorral, type CorralProcess } from '../helpers/corral-process.js'
import { open, SlowOrigin, until } from '../helpers/slow-origin.js'

let origin: SlowOrigin
let corral: CorralProcess
/** A new connection per request: the primary hands each to the next worker, so both get some. */
const fresh = (): Agent => new Agent({ pipelining: 0 })
const agents: Agent[] = []

beforeAll(async () => {
  origin = await SlowOrigin.start()
  corral = await startCorral(['--upstream', origin.url, '--port', '0', '--host', '127.0.0.1', '--workers', '2'], {}, { workers: 2 })
}, 30_000)

afterAll(async () => {
  origin.finish()
  corral?.kill('SIGKILL')
  await Promise.all(agents.map((a) => a.close()))
  await origin?.close()
})

function client(): Agent {
  const agent = fresh()
  agents.push(agent)
  return agent
}

describe('--workers 2: streaming to waiters', () => {
  it('clients on both workers receive the body as it arrives; one origin request', async () => {
    const url = '/unsized?w=1'
    const leader = await open(corral.url, url, {}, client())
    await until(() => leader.received() === 'aaaaaa', 10_000)
    const followers = await Promise.all(Array.from({ length: 6 }, () => open(corral.url, url, {}, client())))
    // Before the origin finishes: whichever worker each landed on, the start is there.
    await until(() => followers.every((f) => f.received() === 'aaaaaa'), 10_000)
    expect(origin.holding).toBe(1)
    expect(followers.every((f) => f.status === 200 && f.headers['x-cache-status'] === 'MISS')).toBe(true)

    origin.finish()
    await Promise.all([leader.ended, ...followers.map((f) => f.ended)])
    for (const r of [leader, ...followers]) expect(r.received()).toBe('aaaaaabbbb')
    expect(origin.hits).toBe(1)

    const after = await Promise.all(Array.from({ length: 4 }, () => open(corral.url, url, {}, client())))
    await Promise.all(after.map((r) => r.ended))
    expect(after.map((r) => r.headers['x-cache-status'])).toEqual(['HIT', 'HIT', 'HIT', 'HIT'])
    expect(origin.hits).toBe(1)
  })

  it('Range requests on both workers wait for the whole body and get their range (206); one origin request', async () => {
    const url = '/unsized?w=3'
    const before = origin.hits
    const leader = await open(corral.url, url, {}, client())
    await until(() => leader.received() === 'aaaaaa', 10_000)
    // New connections, taken in turn by the two workers: some wait in the leader's worker, some in the other.
    let answered = 0
    const ranges = Array.from({ length: 6 }, () =>
      open(corral.url, url, { range: 'bytes=2-7' }, client()).then((r) => {
        answered++
        return r
      }),
    )
    await new Promise((r) => setTimeout(r, 300))
    // A range cannot be cut from a body still arriving: nobody is answered yet (a 200 stream would be).
    expect(answered).toBe(0)
    origin.finish()
    const got = await Promise.all(ranges)
    await Promise.all(got.map((r) => r.ended))
    for (const r of got) {
      expect(r.status).toBe(206)
      expect(r.headers['content-range']).toBe('bytes 2-7/10')
      expect(r.received()).toBe('aaaabb')
    }
    await leader.ended
    expect(leader.received()).toBe('aaaaaabbbb')
    expect(origin.hits - before).toBe(1)
  })

  it('a body that breaks is cut on both workers, and nothing is stored', async () => {
    const url = '/broken?w=2'
    const before = origin.hits
    const leader = await open(corral.url, url, {}, client())
    await until(() => leader.received() === 'aaaaaa', 10_000)
    const followers = await Promise.all(Array.from({ length: 4 }, () => open(corral.url, url, {}, client())))
    await until(() => followers.every((f) => f.received() === 'aaaaaa'), 10_000)
    origin.finish()
    await Promise.all([leader.ended, ...followers.map((f) => f.ended)])
    expect([leader, ...followers].every((r) => r.failed() !== undefined)).toBe(true)
    expect(origin.hits - before).toBe(1)
  })
})
