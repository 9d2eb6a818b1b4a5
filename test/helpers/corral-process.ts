/** corral as users run it: a real process from the command line, its logs, its signals. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const CLI = ['--import', 'tsx', 'src/cli.ts']
const running = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

export interface CorralProcess {
  readonly child: ChildProcess
  readonly url: string
  /** Everything it wrote so far, stdout and stderr. */
  logs(): string
  /** Its JSON log lines so far. */
  lines(): Array<Record<string, unknown>>
  /** Resolves when a log line matches. */
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>
  /** Resolves with the exit code (null after a signal). */
  readonly exited: Promise<number | null>
  kill(signal?: NodeJS.Signals): void
}

/** Write a YAML config to a temporary file and return its path. */
export function configFile(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'corral-test-'))
  const path = join(dir, 'corral.yaml')
  writeFileSync(path, yaml)
  return path
}

/** Start corral and resolve once it logs that it listens (with --workers: once every worker does). */
export function startCorral(args: string[], env: Record<string, string> = {}, options: { workers?: number } = {}): Promise<CorralProcess> {
  // The admin listener's default port (9090) would be shared by every test: off unless a test asks.
  if (!args.includes('--admin-port') && env.CORRAL_ADMIN_PORT === undefined) args = [...args, '--admin-port', '0']
  const child = spawn(process.execPath, [...CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(child)
  let out = ''
  const waiting = new Set<() => void>()
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child)
      resolve(code)
    }),
  )
  const lines = (): Array<Record<string, unknown>> =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>]
        } catch {
          return []
        }
      })
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    for (const wake of waiting) wake()
  })
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const waitFor = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const line = lines().find(match)
        if (line === undefined) return
        clearTimeout(timer)
        waiting.delete(check)
        resolve(line)
      }
      const timer = setTimeout(() => {
        waiting.delete(check)
        reject(new Error(`no matching log line within ${timeoutMs} ms:\n${out}`))
      }, timeoutMs)
      waiting.add(check)
      void exited.then(() => {
        if (!waiting.has(check)) return
        clearTimeout(timer)
        waiting.delete(check)
        reject(new Error(`corral exited:\n${out}`))
      })
      check()
    })
  const workers = options.workers ?? 1
  const listening = workers > 1 ? waitForCount(() => lines().filter((l) => l.msg === 'worker listening').length >= workers, waiting, exited, () => out) : undefined
  return waitFor((l) => typeof l.address === 'string').then(async (line) => {
    await listening
    return {
      child,
      url: `http://${String(line.address)}`,
      logs: () => out,
      lines,
      waitFor,
      exited,
      kill: (signal = 'SIGTERM') => child.kill(signal),
    }
  })
}

function waitForCount(done: () => boolean, waiting: Set<() => void>, exited: Promise<unknown>, out: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!done()) return
      waiting.delete(check)
      resolve()
    }
    waiting.add(check)
    void exited.then(() => waiting.has(check) && reject(new Error(`corral exited:\n${out()}`)))
    check()
  })
}
