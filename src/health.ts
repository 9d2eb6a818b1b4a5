/**
 * The port file and `corral health`. A container's health check runs apart from corral and
 * cannot know which port the flags, the environment or the YAML chose; so corral writes the
 * addresses it listens on to a small file (`--port-file`, `CORRAL_PORT_FILE`), and
 * `corral health` connects to each of them. With `--workers`, the primary writes it.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { connect } from 'node:net'

/** How long `corral health` waits for each listener to accept a connection. */
const CONNECT_TIMEOUT_MS = 2_000

/**
 * Writes one `host:port` per listener (from the gateway's `http://host:port` URLs), and
 * `admin host:port` for the admin listener when there is one. Written to a temporary file and
 * renamed, so that a health check never reads half of it.
 */
export function writePortFile(path: string, urls: readonly string[], adminUrl?: string): void {
  // Not URL.host: it leaves out port 80, the http default.
  const hostPort = (url: string): string => {
    const u = new URL(url)
    return `${u.hostname}:${u.port || '80'}`
  }
  const lines = urls.map(hostPort)
  if (adminUrl !== undefined) lines.push(`admin ${hostPort(adminUrl)}`)
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, `${lines.join('\n')}\n`)
  renameSync(temporary, path)
}

/** On a clean stop: a health check that finds no file fails at once rather than after its timeout. */
export function removePortFile(path: string): void {
  rmSync(path, { force: true })
}

export interface HealthReport {
  readonly ok: boolean
  /** One line per listener, or the one reason nothing was checked. */
  readonly lines: readonly string[]
}

/** Connects to every address in the port file: healthy when each accepts a connection. */
export async function checkHealth(portFile: string): Promise<HealthReport> {
  let text: string
  try {
    text = await readFile(portFile, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file (corral is not running, or not listening yet)' : (err as Error).message
    return { ok: false, lines: [`cannot read port file ${portFile}: ${why}`] }
  }
  const addresses = text.split('\n').map((line) => line.trim()).filter((line) => line !== '')
  if (addresses.length === 0) return { ok: false, lines: [`port file ${portFile} is empty`] }
  const results = await Promise.all(addresses.map(probe))
  return { ok: results.every((r) => r.ok), lines: results.map((r) => r.line) }
}

async function probe(line: string): Promise<{ ok: boolean; line: string }> {
  if (line.startsWith('admin ')) return probeReady(line.slice('admin '.length))
  const address = line
  const target = dialable(address)
  if (target === undefined) return { ok: false, line: `${address}: not a host:port address` }
  const problem = await new Promise<string | undefined>((resolve) => {
    const socket = connect({ host: target.host, port: target.port })
    const done = (why: string | undefined): void => {
      socket.destroy()
      resolve(why)
    }
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => done(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`))
    socket.once('connect', () => done(undefined))
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'connection refused (ECONNREFUSED)' : err.message))
  })
  return problem === undefined ? { ok: true, line: `${address}: accepting connections` } : { ok: false, line: `${address}: ${problem}` }
}

/** The admin listener: GET /readyz must answer 200 (it never fails on Redis alone). */
async function probeReady(address: string): Promise<{ ok: boolean; line: string }> {
  const target = dialable(address)
  if (target === undefined) return { ok: false, line: `admin ${address}: not a host:port address` }
  const host = target.host.includes(':') ? `[${target.host}]` : target.host
  try {
    const res = await fetch(`http://${host}:${target.port}/readyz`, { signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS) })
    await res.body?.cancel()
    return res.status === 200 ? { ok: true, line: `admin ${address}: ready` } : { ok: false, line: `admin ${address}: /readyz answered ${res.status}` }
  } catch (err) {
    return { ok: false, line: `admin ${address}: ${(err as Error).message}` }
  }
}

/** A listener on every interface is checked through loopback. */
function dialable(address: string): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(address)
  if (match === null) return undefined
  let host = (match[1] ?? '').replace(/^\[|\]$/g, '')
  if (host === '0.0.0.0') host = '127.0.0.1'
  if (host === '::') host = '::1'
  return { host, port: Number(match[2]) }
}
