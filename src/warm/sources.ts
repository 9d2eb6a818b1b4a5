/**
 * Where `corral warm` gets its URLs: files (read whole before the first request, so that a file
 * that cannot be read stops the run before anything is fetched and the total is known), sitemaps
 * (fetched whole too) and stdin (read as it comes: the total is known when it ends).
 */
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'

/** One line to warm, as the request that will be sent to the target. */
export interface WarmTarget {
  /** what the line said, for the summary */
  readonly url: string
  /** origin-form target: path and query */
  readonly path: string
  /** the Host to send; undefined: the --host or the target's */
  readonly host: string | undefined
}

/** A line that cannot be a request: counted as a failure, never sent. */
export interface BadLine {
  readonly url: string
  readonly problem: string
}

export type Line = WarmTarget | BadLine

export function isBad(line: Line): line is BadLine {
  return 'problem' in line
}

// eslint-disable-next-line no-control-regex
const UNSENDABLE = /[\x00-\x20\x7f]/

/** `http://host/path?q` (that Host), or `/path?q` (the default host). Fragments are never sent. */
export function parseLine(text: string): Line {
  const url = text
  if (text.startsWith('/') && !text.startsWith('//')) {
    const hash = text.indexOf('#')
    const path = hash === -1 ? text : text.slice(0, hash)
    if (UNSENDABLE.test(path)) return { url, problem: 'a space or control character in the path (percent-encode it)' }
    return { url, path, host: undefined }
  }
  if (!/^https?:\/\//i.test(text)) return { url, problem: 'not an http(s) URL or a path starting with /' }
  let parsed: URL
  try {
    parsed = new URL(text)
  } catch {
    return { url, problem: 'not a valid URL' }
  }
  if (parsed.username !== '' || parsed.password !== '') return { url, problem: 'credentials in the URL are not sent; use --header Authorization' }
  if (parsed.hostname === '') return { url, problem: 'no host in the URL' }
  return { url, path: `${parsed.pathname}${parsed.search}`, host: parsed.host }
}

/** The lines of a list: trimmed, without blank lines and `#` comments. */
export function listLines(text: string): string[] {
  const lines: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    lines.push(line)
  }
  return lines
}

/** A file of URLs, read whole. Throws an Error with one line saying why it cannot be read. */
export function readUrlFile(path: string): string[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const why =
      e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a directory' : e.message
    throw new Error(`--file: cannot read ${path}: ${why}`)
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  return listLines(text)
}

/** The lines of a stream (stdin), as they arrive. */
export async function* streamLines(input: Readable): AsyncGenerator<string> {
  const lines = createInterface({ input, crlfDelay: Infinity })
  for await (const raw of lines) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    yield line
  }
}
