import { describe, expect, it } from 'vitest'

import { formatDuration, formatSize, parseDuration, parseSize } from '../../src/config/duration.js'

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['0s', 0],
    ['0', 0],
    [0, 0],
    [' 5m ', 300_000],
    ['90 s', 90_000],
  ] as const)('%j → %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms)
  })

  it.each([[30], [1.5], [-1], ['30'], ['-5s'], ['1.5s'], ['5 minutes'], ['5M'], ['1w'], [''], ['s'], ['1m30s']] as const)(
    'rejects %j',
    (input) => {
      expect(() => parseDuration(input)).toThrow(Error)
    },
  )

  it('explains why a plain number is refused', () => {
    expect(() => parseDuration(30)).toThrow('a plain number is ambiguous (30): write it with a unit, like "30s" or "500ms"')
  })

  it('rejects durations beyond safe integers', () => {
    expect(() => parseDuration('99999999999999999d')).toThrow('too large')
  })
})

describe('parseSize', () => {
  it.each([
    [0, 0],
    [1024, 1024],
    ['1024', 1024],
    ['512B', 512],
    ['64KB', 64_000],
    ['1MB', 1_000_000],
    ['2GB', 2_000_000_000],
    ['64KiB', 65_536],
    ['1MiB', 1_048_576],
    ['2GiB', 2_147_483_648],
    ['16 KiB', 16_384],
  ] as const)('%j → %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes)
  })

  it.each([[-1], [1.5], ['1.5MiB'], ['1mib'], ['1Kb'], ['1TiB'], ['ten'], [''], ['MiB'], ['-1KiB']] as const)(
    'rejects %j',
    (input) => {
      expect(() => parseSize(input)).toThrow(Error)
    },
  )
})

describe('formatDuration', () => {
  it.each([
    [0, '0'],
    [500, '500ms'],
    [1_500, '1500ms'],
    [30_000, '30s'],
    [90_000, '90s'],
    [600_000, '10m'],
    [3_600_000, '1h'],
    [86_400_000, '1d'],
    [172_800_000, '2d'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
    expect(parseDuration(text)).toBe(ms)
  })
})

describe('formatSize', () => {
  it.each([
    [0, '0B'],
    [500, '500B'],
    [1_000, '1KB'],
    [16_384, '16KiB'],
    [1_048_576, '1MiB'],
    [10_000_000, '10MB'],
    [268_435_456, '256MiB'],
    [2_147_483_648, '2GiB'],
  ])('%d bytes → %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text)
    expect(parseSize(text)).toBe(bytes)
  })
})
