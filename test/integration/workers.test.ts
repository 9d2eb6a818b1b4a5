/**
 * `--workers N`: worker processes share the port and, without Redis, one cache: the primary keeps
 * their fill locks and hands every stored entry to every worker. Real processes, real signals.
 */
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Origin } from '../helpers/origin.js'
import { startCorral, type CorralProcess } from '../helpers/corral-process.js'

let origin: Origin
let corral: CorralProcess
/** Many connections: the primary hands each new one to the next worker. */
const agent = new Agent({ connections: 400, pipelining: 0 })

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; cacheStatus: string }> {
  const res = await request(corral.url + path, { headers, dispatcher: agent })
  return { status: res.statusCode, body: await res.body.text(), cacheStatus: String(res.headers['x-cache-status']) }
}

/** A request on a new connection each time, so that every worker gets its turn. */
async function getFresh(path: string): Promise<{ status: number; body: string; cacheStatus: string }> {
  const res = await request(corral.url + path, { headers: { connection: 'close' } })
  return { status: res.statusCode, body: await res.body.text(), cacheStatus: String(res.headers['x-cache-status']) }
}

function workerPids(): number[] {
  return corral
    .lines()
    .filter((l) => l.msg === 'worker listening')
    .map((l) => Number(l.pid))
}

beforeAll(async () => {
  origin = await Origin.start()
  corral = await startCorral(['--upstream', origin.url, '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--log-level', 'info'], {}, { workers: 2 })
}, 30_000)

afterAll(async () => {
  corral?.kill('SIGKILL')
  await agent.close()
  await origin?.close()
})

describe('--workers 2 without Redis', () => {
  it('two worker processes serve the port', () => {
    expect(new Set(workerPids()).size).toBe(2)
  })

  it('300 concurrent requests for a cold key over both workers: exactly one origin request', async () => {
    origin.on('/cold', { delayMs: 200, headers: { 'cache-control': 'max-age=60' }, body: 'b'.repeat(5_000) })
    const all = await Promise.all(Array.from({ length: 300 }, () => get('/cold')))
    expect(all.every((r) => r.status === 200 && r.body === 'b'.repeat(5_000))).toBe(true)
    expect(origin.hitsOn('/cold')).toBe(1)
  })

  it('an entry stored by one worker is a hit on every worker', async () => {
    origin.on('/shared', { headers: { 'cache-control': 'max-age=60' }, body: 's' })
    expect((await getFresh('/shared')).cacheStatus).toBe('MISS')
    const next = await Promise.all(Array.from({ length: 10 }, () => getFresh('/shared')))
    expect(next.map((r) => r.cacheStatus)).toEqual(Array.from({ length: 10 }, () => 'HIT'))
    expect(origin.hitsOn('/shared')).toBe(1)
  })

  it('a private answer is never shared between workers, and no worker queues behind it again', async () => {
    origin.on('/me', (r) => ({ delayMs: 100, headers: { 'cache-control': 'private, max-age=60' }, body: `user=${String(r.headers['x-user'])}` }))
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => get('/me', { 'x-user': String(i) })))
    all.forEach((r, i) => expect(r.body).toBe(`user=${i}`))
    expect(origin.hitsOn('/me')).toBe(20)
    // Marked hit-for-miss for both workers: a new crowd reaches the origin all at once.
    const open = origin.closeGate()
    const again = Promise.all(Array.from({ length: 10 }, (_, i) => get('/me', { 'x-user': `b${i}` })))
    while (origin.held < 10) await new Promise((r) => setTimeout(r, 5))
    open()
    expect((await again).map((r) => r.body)).toEqual(Array.from({ length: 10 }, (_, i) => `user=b${i}`))
  })

  it('a worker that dies is replaced, and the port keeps answering', async () => {
    const [victim] = workerPids()
    process.kill(victim!, 'SIGKILL')
    await corral.waitFor((l) => l.msg === 'worker listening' && !workerPids().slice(0, 2).includes(Number(l.pid)))
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => getFresh(`/after-restart/${i}`)))
    expect(answers.every((r) => r.status === 200)).toBe(true)
    expect(corral.lines().some((l) => l.level === 40 && String(l.msg).startsWith('worker exited unexpectedly; restarting it'))).toBe(true)
  })

  it('SIGTERM drains every worker: a request in flight finishes, then the primary exits 0', async () => {
    origin.on('/slow', { delayMs: 500, headers: { 'cache-control': 'no-store' }, body: 'finished' })
    const inFlight = get('/slow')
    while (origin.hitsOn('/slow') === 0) await new Promise((r) => setTimeout(r, 5))
    corral.kill('SIGTERM')
    expect(await inFlight).toMatchObject({ status: 200, body: 'finished' })
    expect(await corral.exited).toBe(0)
    expect(corral.lines().filter((l) => l.msg === 'corral stopped').length).toBeGreaterThanOrEqual(3) // two workers and the primary
  })
})
