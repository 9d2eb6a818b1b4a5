/**
 * "Did you mean": the closest known name to a misspelt one (a config key, a CLI flag), by edit
 * distance, offered only when it is close enough to be a typo rather than a different word.
 */
import { z } from 'zod'

/**
 * Spelling variants that are not typos: case, and `-` / `_` between words (`stale_while_revalidate`,
 * `maxAge` for `max-age`) cost nothing.
 */
function normalize(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '')
}

/** Optimal string alignment distance: insertions, deletions, substitutions, and swaps of neighbours (`tll` → `ttl` is 1). */
export function editDistance(a: string, b: string): number {
  // rows[i][j]: distance between the first i characters of a and the first j of b
  const rows: number[][] = []
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i]
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j)
        continue
      }
      const up = rows[i - 1] ?? []
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min((up[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (up[j - 1] ?? 0) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (rows[i - 2]?.[j - 2] ?? 0) + 1)
      row.push(d)
    }
    rows.push(row)
  }
  return rows[a.length]?.[b.length] ?? Math.max(a.length, b.length)
}

/**
 * The candidate closest to `word`, or undefined when none is close: one edit for names of up to
 * four letters, two for longer ones (so `tll` finds `ttl`, but `url` does not). Ties go to the
 * first candidate.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const typed = normalize(word)
  if (typed === '') return undefined
  const limit = typed.length <= 4 ? 1 : 2
  let best: string | undefined
  let bestDistance = limit + 1
  for (const candidate of candidates) {
    if (candidate === word) continue
    const d = editDistance(typed, normalize(candidate))
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/**
 * The keys a mapping may have at `path` of `schema` (a YAML path like ['routes', 1, 'cache']),
 * read from the schema itself so that new options are suggested without a list to maintain.
 * Where the path can lead to several mappings (a union), their keys together.
 */
export function keysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>()
  const visit = (node: z.core.$ZodType, rest: readonly PropertyKey[], depth: number): void => {
    if (depth > 64) return // a recursive schema: give up rather than loop
    const next = (inner: z.core.$ZodType, remaining = rest): void => visit(inner, remaining, depth + 1)
    if (node instanceof z.ZodObject) {
      const shape = node.shape as Record<string, z.core.$ZodType>
      const [head, ...tail] = rest
      if (head === undefined) {
        for (const key of Object.keys(shape)) keys.add(key)
      } else if (typeof head === 'string' && Object.hasOwn(shape, head)) {
        const field = shape[head]
        if (field !== undefined) next(field, tail)
      }
    } else if (
      node instanceof z.ZodOptional ||
      node instanceof z.ZodNullable ||
      node instanceof z.ZodDefault ||
      node instanceof z.ZodPrefault ||
      node instanceof z.ZodReadonly ||
      node instanceof z.ZodCatch ||
      node instanceof z.ZodNonOptional
    ) {
      next(node.def.innerType)
    } else if (node instanceof z.ZodPipe) {
      next(node.def.in)
      next(node.def.out)
    } else if (node instanceof z.ZodUnion) {
      for (const option of node.def.options) next(option)
    } else if (node instanceof z.ZodIntersection) {
      next(node.def.left)
      next(node.def.right)
    } else if (node instanceof z.ZodLazy) {
      next(node.def.getter())
    } else if (node instanceof z.ZodArray) {
      const [head, ...tail] = rest
      if (typeof head === 'number') next(node.def.element, tail)
    } else if (node instanceof z.ZodRecord) {
      const [head, ...tail] = rest
      if (head !== undefined) next(node.def.valueType, tail)
    }
  }
  visit(schema, path, 0)
  return [...keys]
}
