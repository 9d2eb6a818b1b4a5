/**
 * Conformance: how the `Age` response field is read (cache-tests module `age-parse`). The suite
 * marks every case `check`: it asks how caches behave and expects reuse in each. corral follows
 * RFC 9111 §5.1 instead: a list (one line with commas, or repeated lines) counts by its first
 * member, and a value that is not delta-seconds is ignored. So a list whose first member is old
 * makes the response stale (`age-parse-suffix`, `-suffix-twoline`, `-dup-old`, `-dup-old-twoline`:
 * not reused, the origin is asked again), and everything else is reused.
 */
import { describe, expect, it } from 'vitest'
import { httpDate, pause, useConformance } from './suite.js'

const t = useConformance()

describe('age-parse: check', () => {
  for (const [id, age, reused] of [
    ['age-parse-nonnumeric', 'abc', true],
    ['age-parse-negative', '-7200', true],
    ['age-parse-float', '7200.0', true],
    ['age-parse-suffix', '7200,0', false],
    ['age-parse-suffix-twoline', ['7200', '0'], false],
    ['age-parse-prefix', '0,7200', true],
    ['age-parse-prefix-twoline', ['0', '7200'], true],
    ['age-parse-dup-0', '0, 0', true],
    ['age-parse-dup-0-twoline', ['0', '0'], true],
    ['age-parse-dup-old', '7200, 7200', false],
    ['age-parse-dup-old-twoline', ['7200', '7200'], false],
  ] as const) {
    const lines = typeof age === 'string' ? age : age.join(' / ')
    it(`${id}: Age ${lines} with max-age=3600 is ${reused ? 'reused' : 'stale (first member 7200 > 3600)'}`, async () => {
      const path = `/${id}`
      t.origin.on(path, { headers: { date: httpDate(0), 'cache-control': 'max-age=3600', age: typeof age === 'string' ? age : [...age] }, body: id })
      await t.send(path)
      pause()
      if (reused) expect(await t.cached(path)).toMatchObject({ status: 200, body: id })
      else await t.notCached(path)
    })
  }
})
