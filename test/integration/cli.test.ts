/** The command line as users run it: a real process, real signals, real sockets. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Origin } from '../helpers/origin.js'
import { client } from '../helpers/gateway.js'

const CLI = ['--import', 'tsx', 'src/cli.ts']

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Start corral and resolve with its base URL once it logs that it listens. */
function serve(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; logs: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    const timer = setTimeout(() => reject(new Error(`corral did not start:\n${out}`)), 10_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /"address":"([^"]+)"/.exec(out)
      if (m !== null) {
        clearTimeout(timer)
        resolve({ child, url: `http://${m[1]}`, logs: () => out })
      }
    })
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    child.on('exit', (code) => reject(new Error(`corral exited with ${code}:\n${out}`)))
  })
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
}

let origin: Origin
beforeAll(async () => {
  origin = await Origin.start()
})
afterAll(() => origin.close())

describe('corral CLI', () => {
  it('--help explains the modes, flags and environment variables', async () => {
    const { code, stdout } = await run(['--help'])
    expect(code).toBe(0)
    for (const word of ['--upstream', '--config', 'check', 'CORRAL_CONFIG', 'CORRAL_PORT', 'CORRAL_UPSTREAM', 'CORRAL_LOG_LEVEL']) {
      expect(stdout).toContain(word)
    }
  })

  it('check prints the compiled routes of a valid file', async () => {
    const { code, stdout } = await run(['check', 'config/corral.yaml'])
    expect(code).toBe(0)
    expect(stdout).toContain('config/corral.yaml: OK')
    expect(stdout).toMatch(/routes\[0\] products/)
  })

  it('check names every bad field and exits non-zero', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'corral-cli-'))
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, 'upstreams:\n  api:\n    url: http://127.0.0.1:3000\nroutes:\n  - upstream: api\n    cache:\n      ttl: soon\n')
    const { code, stderr } = await run(['check', file])
    expect(code).toBe(2)
    expect(stderr).toContain('routes[0].cache.ttl: expected a duration like "30s"')
  })

  it('refuses to start with nothing to front', async () => {
    const { code, stderr } = await run([], { CORRAL_UPSTREAM: '', CORRAL_CONFIG: '' })
    expect(code).toBe(2)
    expect(stderr).toContain('--upstream')
  })

  it('quick mode: fronts one origin, its headers decide, and SIGTERM drains in-flight requests', async () => {
    origin.on('/cached', { headers: { 'cache-control': 'max-age=60' }, body: 'cached' })
    origin.on('/slow', { delayMs: 500, body: 'finished' })
    const { child, url } = await serve(['--upstream', origin.url, '--port', '0', '--host', '127.0.0.1'])
    const get = client(url)
    expect(await get('/cached')).toMatchObject({ cacheStatus: 'MISS', body: 'cached' })
    expect(await get('/cached')).toMatchObject({ cacheStatus: 'HIT', body: 'cached' })
    const slow = get('/slow')
    await new Promise((r) => setTimeout(r, 150))
    const exit = exited(child)
    child.kill('SIGTERM')
    expect(await slow).toMatchObject({ status: 200, body: 'finished' })
    expect(await exit).toBe(0)
  })

  it('reads CORRAL_UPSTREAM and CORRAL_PORT and logs one access line per request', async () => {
    origin.on('/env', { headers: { 'cache-control': 'max-age=60' }, body: 'env' })
    const { child, url, logs } = await serve([], { CORRAL_UPSTREAM: origin.url, CORRAL_PORT: '0', CORRAL_LOG_LEVEL: 'info' })
    try {
      await client(url)('/env?x=1')
      await client(url)('/env?x=1', { headers: { 'x-request-id': 'say "hi"' } })
      // Access lines are written in batches, within 100 ms.
      let lines: string[] = []
      for (let i = 0; i < 100 && lines.length < 2; i++) {
        await new Promise((r) => setTimeout(r, 20))
        lines = logs()
          .split('\n')
          .filter((l) => l.includes('"msg":"request"'))
      }
      expect(lines).toHaveLength(2)
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, method: 'GET', path: '/env', status: 200, cacheStatus: 'MISS', route: 'default' })
      expect(JSON.parse(lines[1]!)).toMatchObject({ reqId: 'say "hi"', cacheStatus: 'HIT', aborted: false })
    } finally {
      child.kill('SIGTERM')
      await exited(child)
    }
  })
})
