/**
 * Durations and sizes as people write them in YAML ("30s", "64KiB") and back (`corral check`).
 * Parsing throws a plain Error; the schema turns it into a message naming the YAML path.
 */

const MS_PER_UNIT = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
type DurationUnit = keyof typeof MS_PER_UNIT

const BYTES_PER_UNIT = {
  B: 1,
  KB: 1_000,
  MB: 1_000_000,
  GB: 1_000_000_000,
  KiB: 1_024,
  MiB: 1_048_576,
  GiB: 1_073_741_824,
} as const
type SizeUnit = keyof typeof BYTES_PER_UNIT

const DURATION = /^(\d+)\s*(ms|s|m|h|d)$/
const SIZE = /^(\d+)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$/

/** `"500ms" "30s" "10m" "2h" "1d"` or 0 → milliseconds. A bare non-zero number is refused: 30 could mean seconds or ms. */
export function parseDuration(input: string | number): number {
  if (input === 0 || input === '0') return 0
  if (typeof input === 'number') {
    throw new Error(`a plain number is ambiguous (${input}): write it with a unit, like "30s" or "500ms"`)
  }
  const match = DURATION.exec(input.trim())
  if (!match) throw new Error(`not a duration: ${JSON.stringify(input)}`)
  return checkedProduct(Number(match[1]), MS_PER_UNIT[match[2] as DurationUnit], input)
}

/** Integer bytes, or `"512B" "64KB" "64KiB" "1MiB" "2GiB"` → bytes. KB/MB/GB are 1000-based, KiB/MiB/GiB 1024-based. */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) throw new Error(`not a size in bytes: ${input}`)
    return input
  }
  const match = SIZE.exec(input.trim())
  if (!match) throw new Error(`not a size: ${JSON.stringify(input)}`)
  return checkedProduct(Number(match[1]), BYTES_PER_UNIT[(match[2] ?? 'B') as SizeUnit], input)
}

function checkedProduct(amount: number, unit: number, input: string): number {
  const result = amount * unit
  if (!Number.isSafeInteger(result)) throw new Error(`too large: ${JSON.stringify(input)}`)
  return result
}

/** Milliseconds → the largest unit that divides them evenly: 600000 → "10m", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0'
  return compact(ms, [
    ['d', MS_PER_UNIT.d],
    ['h', MS_PER_UNIT.h],
    ['m', MS_PER_UNIT.m],
    ['s', MS_PER_UNIT.s],
    ['ms', 1],
  ])
}

/** Bytes → the largest unit that divides them evenly, binary units first: 1048576 → "1MiB", 1000 → "1KB". */
export function formatSize(bytes: number): string {
  if (bytes === 0) return '0B'
  return compact(bytes, [
    ['GiB', BYTES_PER_UNIT.GiB],
    ['MiB', BYTES_PER_UNIT.MiB],
    ['KiB', BYTES_PER_UNIT.KiB],
    ['GB', BYTES_PER_UNIT.GB],
    ['MB', BYTES_PER_UNIT.MB],
    ['KB', BYTES_PER_UNIT.KB],
    ['B', 1],
  ])
}

function compact(value: number, units: readonly (readonly [string, number])[]): string {
  for (const [name, size] of units) {
    if (value % size === 0) return `${value / size}${name}`
  }
  return String(value)
}
