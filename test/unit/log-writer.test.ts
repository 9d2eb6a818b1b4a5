import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BatchedWriter } from '../../src/log-writer.js'

function target(): { fd: number; read: () => string } {
  const file = join(mkdtempSync(join(tmpdir(), 'corral-log-')), 'out.log')
  const fd = openSync(file, 'w')
  return { fd, read: () => readFileSync(file, 'utf8') }
}

const lines = Array.from({ length: 2_000 }, (_, i) => `{"n":${i},"path":"/é/日本/${'x'.repeat(i % 300)}"}\n`)

describe('BatchedWriter', () => {
  it('writes every line, in order, across many chunks, and flushSync leaves nothing behind', () => {
    const { fd, read } = target()
    const writer = new BatchedWriter(fd)
    for (const line of lines) writer.write(line)
    const huge = `${'y'.repeat(100_000)}\n`
    writer.write(huge)
    writer.write('last\n')
    writer.flushSync()
    closeSync(fd)
    expect(read()).toBe(lines.join('') + huge + 'last\n')
  })

  it('writes a few lines on its own within its delay', async () => {
    const { fd, read } = target()
    const writer = new BatchedWriter(fd)
    writer.write('one\n')
    writer.write('two\n')
    expect(read()).toBe('')
    await new Promise((r) => setTimeout(r, 300))
    expect(read()).toBe('one\ntwo\n')
    closeSync(fd)
  })

  it('keeps writing asynchronously when chunks fill up', async () => {
    const { fd, read } = target()
    const writer = new BatchedWriter(fd)
    for (const line of lines) writer.write(line)
    await new Promise((r) => setTimeout(r, 300))
    expect(read()).toBe(lines.join(''))
    closeSync(fd)
  })
})
