/** The command line as users run it: a real process, real signals, real sockets. */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Origin } from '../helpers/origin.js'
import { client } from '../helpers/gateway.js'
import { startCorral } from '../helpers/corral-process.js'
import { occupiedPort } from '../helpers/sockets.js'
import type { Server } from 'node:net'

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

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}

describe('start-up errors a new user meets: one line each, exit code 2', () => {
  it('a port in use', async () => {
    const taken = await occupiedPort()
    try {
      const { code, stderr } = await run(['--upstream', origin.url, '--port', String(taken.port), '--host', '127.0.0.1'])
      expect(code).toBe(2)
      expect(stderr).toBe(`corral: cannot listen on 127.0.0.1:${taken.port}: address already in use (EADDRINUSE)\n`)
    } finally {
      await closeServer(taken)
    }
  })

  it('a port in use with --workers: the primary gives up instead of restarting the workers, and says why once', async () => {
    const taken = await occupiedPort()
    try {
      const { code, stdout, stderr } = await run(['--upstream', origin.url, '--port', String(taken.port), '--host', '127.0.0.1', '--workers', '2'])
      expect(code).toBe(2)
      expect(stderr).toBe(`corral: cannot listen on 127.0.0.1:${taken.port}: address already in use (EADDRINUSE)\n`)
      expect(stdout).not.toContain('restarting')
    } finally {
      await closeServer(taken)
    }
  }, 20_000)

  it('a missing config file is not called invalid', async () => {
    const file = join(tmpdir(), 'corral-no-such-dir', 'corral.yaml')
    const { code, stderr } = await run(['--config', file])
    expect(code).toBe(2)
    expect(stderr).toBe(`corral: cannot read config file ${file}: no such file\n`)
  })

  it('a misspelt flag: the one meant is suggested', async () => {
    const { code, stderr } = await run(['--upstrem', origin.url])
    expect(code).toBe(2)
    expect(stderr).toBe("corral: unknown option '--upstrem' (did you mean --upstream?)\n")
    expect((await run(['--log_level=info'])).stderr).toBe("corral: unknown option '--log_level' (did you mean --log-level?)\n")
  })

  it('an unknown flag like no other: pointed to --help', async () => {
    const { code, stderr } = await run(['--frobnicate'])
    expect(code).toBe(2)
    expect(stderr).toBe("corral: unknown option '--frobnicate' (see corral --help)\n")
  })

  it('a misspelt command and a misspelt config key: both suggested', async () => {
    expect((await run(['chekc', 'config/corral.yaml'])).stderr).toBe('corral: unexpected argument "chekc" (did you mean "check"?)\n')
    const dir = mkdtempSync(join(tmpdir(), 'corral-cli-'))
    const file = join(dir, 'typo.yaml')
    writeFileSync(file, 'upstreams:\n  api:\n    url: http://127.0.0.1:3000\nroutes:\n  - upstream: api\n    cache:\n      tll: 30s\n')
    const { code, stderr } = await run(['check', file])
    expect(code).toBe(2)
    expect(stderr).toContain('routes[0].cache.tll: unknown key (did you mean "ttl"?)')
  })
})

describe('SIGHUP without a config file (quick mode) does not stop corral', () => {
  it('one process: one warning line, and it keeps serving', async () => {
    origin.on('/hup', { headers: { 'cache-control': 'max-age=60' }, body: 'hup' })
    const corral = await startCorral(['--upstream', origin.url, '--port', '0', '--host', '127.0.0.1'])
    try {
      corral.kill('SIGHUP')
      const line = await corral.waitFor((l) => l.signal === 'SIGHUP')
      expect(line).toMatchObject({ level: 40, msg: 'SIGHUP: no config file to re-read (quick mode); ignored' })
      expect(await client(corral.url)('/hup')).toMatchObject({ status: 200, body: 'hup' })
    } finally {
      corral.kill('SIGTERM')
    }
    expect(await corral.exited).toBe(0)
  })

  it('--workers: the primary warns, no worker dies, not even when the whole process group gets it', async () => {
    origin.on('/hup2', { body: 'hup2' })
    const corral = await startCorral(['--upstream', origin.url, '--port', '0', '--host', '127.0.0.1', '--workers', '2'], {}, { workers: 2 })
    try {
      const workers = corral.lines().filter((l) => l.msg === 'worker listening').map((l) => Number(l.pid))
      // A terminal hangup reaches every process of the group.
      corral.kill('SIGHUP')
      for (const pid of workers) process.kill(pid, 'SIGHUP')
      await corral.waitFor((l) => l.signal === 'SIGHUP')
      await new Promise((r) => setTimeout(r, 300))
      expect(corral.lines().filter((l) => l.signal === 'SIGHUP')).toHaveLength(1)
      for (const pid of workers) expect(() => process.kill(pid, 0)).not.toThrow()
      expect(corral.lines().some((l) => String(l.msg).startsWith('worker exited'))).toBe(false)
      expect(await client(corral.url)('/hup2')).toMatchObject({ status: 200, body: 'hup2' })
    } finally {
      corral.kill('SIGTERM')
    }
    expect(await corral.exited).toBe(0)
  }, 30_000)
})

describe('corral health and the port file (the container health check)', () => {
  it('reports the port corral chose, whichever way it was given; fails once corral stops', async () => {
    const portFile = join(mkdtempSync(join(tmpdir(), 'corral-health-')), 'corral.port')
    // --port 0: only corral knows the port; the health check reads it from the file.
    const corral = await startCorral(['--upstream', origin.url, '--port', '0', '--host', '127.0.0.1'], { CORRAL_PORT_FILE: portFile })
    const address = new URL(corral.url).host
    expect(readFileSync(portFile, 'utf8')).toBe(`${address}\n`)
    const healthy = await run(['health'], { CORRAL_PORT_FILE: portFile })
    expect(healthy).toMatchObject({ code: 0, stdout: `${address}: accepting connections\n` })
    corral.kill('SIGTERM')
    expect(await corral.exited).toBe(0)
    expect(existsSync(portFile)).toBe(false)
    const stopped = await run(['health', '--port-file', portFile])
    expect(stopped.code).toBe(1) // Docker reserves 2
    expect(stopped.stderr).toContain(`corral: health: cannot read port file ${portFile}: no such file`)
  })

  it('fails when nothing listens at the address in the file', async () => {
    const taken = await occupiedPort()
    await closeServer(taken)
    const portFile = join(mkdtempSync(join(tmpdir(), 'corral-health-')), 'corral.port')
    writeFileSync(portFile, `127.0.0.1:${taken.port}\n`)
    const { code, stderr } = await run(['health', '--port-file', portFile])
    expect(code).toBe(1)
    expect(stderr).toBe(`corral: health: 127.0.0.1:${taken.port}: connection refused (ECONNREFUSED)\n`)
  })

  it('without a port file to read, it says how to name one', async () => {
    const { code, stderr } = await run(['health'], { CORRAL_PORT_FILE: '' })
    expect(code).toBe(1)
    expect(stderr).toContain('--port-file <file> or CORRAL_PORT_FILE')
  })

  it('--workers: the primary writes the file once the workers listen', async () => {
    const portFile = join(mkdtempSync(join(tmpdir(), 'corral-health-')), 'corral.port')
    const corral = await startCorral(['--upstream', origin.url, '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--port-file', portFile], {}, { workers: 2 })
    try {
      expect(readFileSync(portFile, 'utf8')).toBe(`${new URL(corral.url).host}\n`)
      expect((await run(['health', '--port-file', portFile])).code).toBe(0)
    } finally {
      corral.kill('SIGTERM')
    }
    expect(await corral.exited).toBe(0)
    expect(existsSync(portFile)).toBe(false)
  }, 30_000)
})
