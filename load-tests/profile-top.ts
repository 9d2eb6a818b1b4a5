/**
 * Top self-time functions of a V8 CPU profile, such as `--cpu-prof <dir>` writes for corral:
 *
 *   node --import tsx load-tests/profile-top.ts <file.cpuprofile> [--top 25] [--only dist/]
 *
 * Prints each function's self time (in itself) and total time (itself and what it called).
 * `--only` keeps functions whose name or script path contains that text (corral's own code: `dist/`).
 * Percentages are of all samples, idle included.
 */
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const REPO_DIR = fileURLToPath(new URL('..', import.meta.url))

function where(url: string, line: number): string {
  if (url === '') return ''
  const path = url.startsWith('file://') ? relative(REPO_DIR, fileURLToPath(url)) : url
  return `${path}:${line + 1}`
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, only: { type: 'string' } },
  })
  const file = positionals[0]
  if (file === undefined) throw new Error('usage: profile-top.ts <file.cpuprofile> [--top 25] [--only dist/]')
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const nameOf = (node: ProfileNode): string =>
    `${node.callFrame.functionName || '(anonymous)'}  ${where(node.callFrame.url, node.callFrame.lineNumber)}`

  // Self time of each profile node, from the samples.
  const nodeSelfUs = new Map<number, number>()
  let sampledUs = 0
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0
    sampledUs += us
    nodeSelfUs.set(id, (nodeSelfUs.get(id) ?? 0) + us)
  })

  // Per function: self time, and total time (itself and everything it called), counting a
  // function once per call stack so that recursion does not count it twice.
  const selfUs = new Map<string, number>()
  const totalUs = new Map<string, number>()
  const walk = (id: number, onStack: Set<string>): number => {
    const node = nodes.get(id)!
    const name = nameOf(node)
    const own = nodeSelfUs.get(id) ?? 0
    selfUs.set(name, (selfUs.get(name) ?? 0) + own)
    const outer = onStack.has(name)
    onStack.add(name)
    let subtree = own
    for (const child of node.children ?? []) subtree += walk(child, onStack)
    if (!outer) {
      onStack.delete(name)
      totalUs.set(name, (totalUs.get(name) ?? 0) + subtree)
    }
    return subtree
  }
  walk(profile.nodes[0]!.id, new Set())

  const rows = [...selfUs]
    .filter(([name]) => values.only === undefined || name.includes(values.only))
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(values.top))
  const pct = (us: number): string => `${((us / sampledUs) * 100).toFixed(1).padStart(5)}%`
  process.stdout.write(`${file}: ${(sampledUs / 1e6).toFixed(1)} s sampled\n  self ms   self   total  function\n`)
  for (const [name, us] of rows) {
    process.stdout.write(`${(us / 1000).toFixed(0).padStart(9)} ${pct(us)} ${pct(totalUs.get(name) ?? 0)}  ${name}\n`)
  }
}

main()
