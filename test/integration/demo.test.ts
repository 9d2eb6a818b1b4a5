/**
 * `npm run demo`: its ports, and that stopping it leaves nothing running. npm runs the demo
 * through `sh -c`, and a SIGTERM to npm reaches that shell, not the demo: these tests start it
 * the same way and stop the shell.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { client } from '../helpers/gateway.js'
import { describeRedis } from '../helpers/redis.js'
import { occupiedPort } from '../helpers/sockets.js'

const DEMO = 'node --import tsx src/demo/run.ts'

interface Demo {
  readonly shell: ChildProcess
  output(): string
  /** Resolves once the demo printed its summary (or rejects with what it printed when it exits first). */
  readonly ready: Promise<string>
  readonly exited: Promise<number | null>
}

/** The demo under `sh -c`, as npm runs it. */
function startDemo(args: string, env: Record<string, string> = {}): Demo {
  const shell = spawn('sh', ['-c', `${DEMO} ${args}`], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const exited = new Promise<number | null>((resolve) => shell.once('exit', (code) => resolve(code)))
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start:\n${out}`)), 20_000)
    const collect = (d: Buffer): void => {
      out += d.toString()
      if (out.includes('Ctrl-C stops')) {
        clearTimeout(timer)
        resolve(out)
      }
    }
    shell.stdout.on('data', collect)
    shell.stderr.on('data', collect)
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`the demo exited:\n${out}`))
    })
  })
  ready.catch(() => undefined)
  return { shell, output: () => out, ready, exited }
}

/** Child processes of `pid` (the demo node process under the shell). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0)
  } catch {
    return [] // ps exits 1 when there are none
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function gone(pid: number, withinMs = 5_000): Promise<boolean> {
  for (const until = Date.now() + withinMs; Date.now() < until; ) {
    if (!alive(pid)) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return !alive(pid)
}


describe('npm run demo', () => {
  it('takes its ports from the flags, prints them, and stops when the shell that ran it is killed', async () => {
    const demo = startDemo('--port 0 --origin-port 0')
    const out = await demo.ready
    const corral = /corral (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1]
    expect(out).toMatch(/origin http:\/\/127\.0\.0\.1:\d+/)
    expect(corral).toBeDefined()
    const get = client(corral ?? '')
    expect(await get('/products')).toMatchObject({ status: 200, cacheStatus: 'MISS' })
    expect(await get('/products')).toMatchObject({ status: 200, cacheStatus: 'HIT' })

    const [node] = childrenOf(demo.shell.pid ?? 0)
    expect(node).toBeDefined()
    demo.shell.kill('SIGTERM') // what npm does with a SIGTERM: the shell dies, the demo is orphaned
    await demo.exited
    expect(await gone(node ?? 0)).toBe(true)
  }, 30_000)

  it('DEMO_PORT is honoured, and a port asked for that is taken is an error naming how to choose another', async () => {
    const taken = await occupiedPort()
    try {
      const demo = startDemo('--origin-port 0', { DEMO_PORT: String(taken.port) })
      expect(await demo.exited).toBe(1)
      expect(demo.output()).toContain(`demo: cannot listen on 127.0.0.1:${taken.port}: address already in use (EADDRINUSE); choose another port with --port or DEMO_PORT`)
    } finally {
      taken.close()
    }
  }, 30_000)

  it('refuses a port that is not a number', async () => {
    const demo = startDemo('--origin-port nope')
    expect(await demo.exited).toBe(2)
    expect(demo.output()).toContain('demo: --origin-port: expected a port number 0..65535, got "nope"')
  }, 30_000)
})

describeRedis('npm run demo -- --fleet', () => {
  it('stops both instances, the origin and its redis-server when the shell that ran it is killed', async () => {
    const demo = startDemo('--fleet --port 0 --origin-port 0')
    const out = await demo.ready
    const redisPid = Number(/a private redis-server, pid (\d+)/.exec(out)?.[1])
    expect(redisPid).toBeGreaterThan(0)
    const [node] = childrenOf(demo.shell.pid ?? 0)
    expect(node).toBeDefined()
    demo.shell.kill('SIGTERM')
    await demo.exited
    expect(await gone(node ?? 0, 10_000)).toBe(true)
    expect(await gone(redisPid)).toBe(true)
  }, 40_000)
})
