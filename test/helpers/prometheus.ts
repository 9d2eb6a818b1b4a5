/** The Prometheus text format, read with a real parser, for tests that check what /metrics says. */
import { createRequire } from 'node:module'

interface Family {
  name: string
  help: string
  type: string
  metrics: Array<{ value?: string; labels?: Record<string, string> }>
}

/**
 * parse-prometheus-text-format: the most used JavaScript parser of the text format (its sample
 * grammar ported from the official Python client: label escapes, NaN, ±Inf, timestamps); it throws
 * on a malformed line. It folds histograms into prom2json's shape, which loses labelled series (its
 * open issue #13), so histogram families are read as their plain _bucket/_sum/_count samples.
 */
const parsePrometheusTextFormat = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[]

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Exposition {
  /** Family name → its TYPE (counter, gauge, histogram…) and HELP. */
  families: Map<string, { type: string; help: string }>
  samples: Sample[]
  /** The value of one series, 0 when absent (a counter never incremented). */
  value(name: string, labels?: Record<string, string>): number
  /** Every series of a metric. */
  series(name: string): Sample[]
}

export function parseExposition(text: string): Exposition {
  const histograms = new Set<string>()
  for (const m of text.matchAll(/^# TYPE (\S+) histogram$/gm)) histograms.add(m[1]!)
  const parsed = parsePrometheusTextFormat(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped'))
  const families = new Map<string, { type: string; help: string }>()
  const samples: Sample[] = []
  for (const family of parsed) {
    const type = histograms.has(family.name) ? 'histogram' : family.type.toLowerCase()
    const owner = [...histograms].find((h) => family.name === `${h}_bucket` || family.name === `${h}_sum` || family.name === `${h}_count`)
    if (owner === undefined) families.set(family.name, { type, help: family.help })
    for (const metric of family.metrics) {
      const raw = metric.value ?? ''
      const value = /^[+-]?inf$/i.test(raw) ? (raw.startsWith('-') ? -Infinity : Infinity) : /^nan$/i.test(raw) ? Number.NaN : Number(raw)
      if (raw === '' || (Number.isNaN(value) && !/^nan$/i.test(raw))) throw new Error(`${family.name}: not a sample value: ${JSON.stringify(raw)}`)
      samples.push({ name: family.name, labels: metric.labels ?? {}, value })
    }
  }
  const matches = (s: Sample, name: string, labels: Record<string, string>): boolean =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length
  return {
    families,
    samples,
    value: (name, labels = {}) => samples.find((s) => matches(s, name, labels))?.value ?? 0,
    series: (name) => samples.filter((s) => s.name === name),
  }
}

