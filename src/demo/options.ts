/**
 * What both demos share: their ports (flags, environment, defaults that step aside when taken)
 * and stopping with whatever started them.
 */
import type { AddressInfo } from 'node:net'
import { parseArgs } from 'node:util'
import { GatewayError } from '../errors.js'

export const DEMO_USAGE = `Usage: npm run demo -- [--fleet] [--port <n>] [--origin-port <n>]

  --fleet              two corral instances sharing one Redis (the second on the next port)
  --port <n>           corral's port (with --fleet: the first instance's)  [DEMO_PORT, or 8080]
  --origin-port <n>    the example origin's port                           [DEMO_ORIGIN_PORT, or 3000]

A port you name must be free. When a default port is taken, the demo takes a free one and says so.
`

/** A port to listen on, and whether the user named it (then it must be that one). */
export interface PortChoice {
  readonly port: number
  readonly explicit: boolean
}

export interface DemoOptions {
  readonly fleet: boolean
  readonly corral: PortChoice
  readonly origin: PortChoice
}

/** Flags win over the environment, which wins over the defaults; throws an Error naming the flag or variable. */
export function demoOptions(argv: readonly string[], env: NodeJS.ProcessEnv): DemoOptions | 'help' {
  let values
  try {
    ;({ values } = parseArgs({
      args: [...argv],
      options: {
        fleet: { type: 'boolean' },
        port: { type: 'string' },
        'origin-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (err) {
    throw new Error(`${(err as Error).message.replace(/\. To specify a positional.*$/, '').replace(/^Unknown/, 'unknown')}\n${DEMO_USAGE}`)
  }
  if (values.help === true) return 'help'
  return {
    fleet: values.fleet === true,
    corral: portChoice(values.port, '--port', env.DEMO_PORT, 'DEMO_PORT', 8080),
    origin: portChoice(values['origin-port'], '--origin-port', env.DEMO_ORIGIN_PORT, 'DEMO_ORIGIN_PORT', 3000),
  }
}

function portChoice(flag: string | undefined, flagName: string, variable: string | undefined, variableName: string, fallback: number): PortChoice {
  const [text, from] = flag !== undefined ? [flag, flagName] : variable !== undefined && variable !== '' ? [variable, variableName] : [undefined, '']
  if (text === undefined) return { port: fallback, explicit: false }
  const port = Number(text)
  // 0 is allowed: any free port
  if (!/^\d+$/.test(text) || port > 65_535) throw new Error(`${from}: expected a port number 0..65535, got "${text}"`)
  return { port, explicit: true }
}

/** Whether listening failed because the port is taken (from node:net, or startGateway's error). */
function portTaken(err: unknown): boolean {
  const cause = err instanceof GatewayError && err.code === 'CORRAL_ERR_LISTEN' ? err.cause : err
  return (cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE'
}

/**
 * Starts something on the chosen port. A default port that is taken (another demo, a dev server)
 * gives way to a free one, and `note` says so; a port the user named must be free.
 */
export async function listenOn<T>(
  choice: PortChoice,
  what: string,
  start: (port: number) => Promise<T>,
  note: (text: string) => void,
): Promise<T> {
  try {
    return await start(choice.port)
  } catch (err) {
    if (choice.explicit || !portTaken(err)) throw err
    note(`port ${choice.port} is taken: ${what} takes a free port instead`)
    return start(0)
  }
}

/** `address already in use (EADDRINUSE)`, as corral says it. */
export function listenProblem(err: NodeJS.ErrnoException): string {
  return err.code === 'EADDRINUSE' ? 'address already in use (EADDRINUSE)' : (err.code ?? err.message)
}

export function portOf(address: AddressInfo | string | null): number {
  return typeof address === 'object' && address !== null ? address.port : 0
}

/**
 * `npm run demo` runs `sh -c "… && node dist/demo/run.js"`: a SIGTERM to npm stops npm and that
 * shell, not this process, which would be left running, ports and all. So the demo watches its
 * parent, and stops when it is gone (the process is handed to init or a subreaper).
 */
export function stopWithParent(stop: (why: string) => void): void {
  const parent = process.ppid
  setInterval(() => {
    if (process.ppid !== parent) stop('the process that started the demo is gone')
  }, 250).unref()
}
