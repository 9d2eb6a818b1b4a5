/**
 * `corral schema [--out <file>]`: the JSON Schema of the YAML config (src/config/json-schema.ts),
 * for editors; printed, or written to a file. config/corral.schema.json is its output, committed
 * (`npm run schema` rewrites it).
 */
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'

import { renderConfigJsonSchema } from '../config/json-schema.js'

const USAGE = `Usage: corral schema [--out <file>]

Prints the JSON Schema (draft-07) of corral's YAML configuration, or writes it to <file>.
Point an editor at it, e.g. with a first line in the YAML file (VS Code's YAML extension):
  # yaml-language-server: $schema=./corral.schema.json

Options:
  -o, --out <file>   write the schema there instead of to stdout
  -h, --help         this text
`

const USAGE_EXIT_CODE = 2

function usageError(message: string): number {
  process.stderr.write(`corral: schema: ${message} (see corral schema --help)\n`)
  return USAGE_EXIT_CODE
}

/** parseArgs' complaint, short. */
function argsProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err)
  const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1]
  if (unknown !== undefined) return `unknown option '${unknown}'`
  if (/argument missing/.test(message)) return '--out needs a file name'
  return message.split('\n')[0] ?? message
}

export async function runSchema(args: readonly string[]): Promise<number> {
  let values: { out?: string; help?: boolean }
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: { out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
    }))
  } catch (err) {
    return usageError(argsProblem(err))
  }
  if (values.help === true) {
    process.stdout.write(USAGE)
    return 0
  }
  if (positionals.length > 0) return usageError(`unexpected argument '${positionals[0]}'`)
  if (values.out === '') return usageError('--out needs a file name')

  const text = renderConfigJsonSchema()
  if (values.out === undefined) {
    process.stdout.write(text)
    return 0
  }
  try {
    await writeFile(values.out, text)
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    process.stderr.write(`corral: schema: cannot write ${values.out}: ${reason}\n`)
    return 1
  }
  process.stderr.write(`corral: schema: wrote ${values.out}\n`)
  return 0
}
