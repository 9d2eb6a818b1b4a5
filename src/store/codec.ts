/**
 * The binary form of a record in a shared store (Redis) and between worker processes: one value
 * holding the metadata and the body, so that a lookup is one round trip.
 *
 *   0   'C' 'R'       magic
 *   2   u8            format version (FORMAT_VERSION; also in the key prefix, so that a release
 *                     with another format never reads these records)
 *   3   u8            kind: 'e' entry, 'v' vary index
 *   4   12 bytes      the record's version (ASCII): lua/lookupOrLock-3.lua compares it in place
 *   16  u8            flags: bit 0 = body deflated
 *   17  u32 BE        length of the metadata
 *   21  metadata      JSON: every field but kind, version and body
 *   …   body          the entry's body (absent for a vary index)
 */
import { promisify } from 'node:util'
import { deflateRaw, inflateRaw } from 'node:zlib'
import { VERSION_LENGTH } from './ids.js'
import type { CacheEntry, CacheRecord, VaryIndex } from './types.js'

export const FORMAT_VERSION = 1

const MAGIC_0 = 0x43 // C
const MAGIC_1 = 0x52 // R
const KIND_ENTRY = 0x65 // e
const KIND_VARY = 0x76 // v
const VERSION_AT = 4
const FLAGS_AT = VERSION_AT + VERSION_LENGTH
const META_LENGTH_AT = FLAGS_AT + 1
const META_AT = META_LENGTH_AT + 4
const FLAG_DEFLATED = 1

const deflate = promisify(deflateRaw)
const inflate = promisify(inflateRaw)

/** `compressAboveBytes`: bodies larger than this are deflated (0: never). */
export async function encodeRecord(record: CacheRecord, compressAboveBytes = 0): Promise<Buffer> {
  if (record.version.length !== VERSION_LENGTH) throw new Error(`record version must be ${VERSION_LENGTH} characters`)
  if (record.kind === 'vary') {
    const { kind: _kind, version: _version, ...meta } = record
    return frame(KIND_VARY, record.version, 0, meta, undefined)
  }
  const { kind: _kind, version: _version, body, ...meta } = record
  let flags = 0
  let stored = body
  if (compressAboveBytes > 0 && body.length > compressAboveBytes) {
    const deflated = await deflate(body, { level: 6 })
    // Already-compressed bodies (images, gzip) do not shrink: keep them as they are.
    if (deflated.length < body.length) {
      stored = deflated
      flags |= FLAG_DEFLATED
    }
  }
  return frame(KIND_ENTRY, record.version, flags, meta, stored)
}

function frame(kind: number, version: string, flags: number, meta: object, body: Buffer | undefined): Buffer {
  const json = Buffer.from(JSON.stringify(meta))
  const out = Buffer.allocUnsafe(META_AT + json.length + (body?.length ?? 0))
  out[0] = MAGIC_0
  out[1] = MAGIC_1
  out[2] = FORMAT_VERSION
  out[3] = kind
  out.write(version, VERSION_AT, 'latin1')
  out[FLAGS_AT] = flags
  out.writeUInt32BE(json.length, META_LENGTH_AT)
  json.copy(out, META_AT)
  body?.copy(out, META_AT + json.length)
  return out
}

export class CodecError extends Error {
  override readonly name = 'CodecError'
}

/** The record, or a CodecError for bytes that are not one (another format, a foreign value). */
export async function decodeRecord(buf: Buffer): Promise<CacheRecord> {
  const decoded = decodeFrame(buf)
  if (decoded.kind === 'vary' || decoded.deflated === undefined) return decoded.record
  return { ...decoded.record, body: await inflate(decoded.deflated) }
}

/** decodeRecord for records encoded without compression (between worker processes): in order, at once. */
export function decodeRecordSync(buf: Buffer): CacheRecord {
  const decoded = decodeFrame(buf)
  if (decoded.kind === 'entry' && decoded.deflated !== undefined) throw new CodecError('a deflated record cannot be read synchronously')
  return decoded.record
}

type Frame =
  | { readonly kind: 'vary'; readonly record: CacheRecord }
  | { readonly kind: 'entry'; readonly record: CacheEntry; readonly deflated: Buffer | undefined }

function decodeFrame(buf: Buffer): Frame {
  if (buf.length < META_AT || buf[0] !== MAGIC_0 || buf[1] !== MAGIC_1) throw new CodecError('not a corral record')
  if (buf[2] !== FORMAT_VERSION) throw new CodecError(`record format ${buf[2]}, expected ${FORMAT_VERSION}`)
  const version = buf.toString('latin1', VERSION_AT, FLAGS_AT)
  const flags = buf[FLAGS_AT] ?? 0
  const metaLength = buf.readUInt32BE(META_LENGTH_AT)
  const bodyAt = META_AT + metaLength
  if (bodyAt > buf.length) throw new CodecError('truncated record')
  let meta: unknown
  try {
    meta = JSON.parse(buf.toString('utf8', META_AT, bodyAt))
  } catch (err) {
    throw new CodecError('unreadable record metadata', { cause: err })
  }
  if (typeof meta !== 'object' || meta === null) throw new CodecError('unreadable record metadata')
  if (buf[3] === KIND_VARY) return { kind: 'vary', record: { ...(meta as Omit<VaryIndex, 'kind' | 'version'>), kind: 'vary', version } }
  if (buf[3] !== KIND_ENTRY) throw new CodecError(`unknown record kind ${buf[3]}`)
  const deflated = (flags & FLAG_DEFLATED) !== 0 ? buf.subarray(bodyAt) : undefined
  // A copy: `buf` may be a view into a larger socket chunk, which the entry would keep alive (and
  // which the memory store's byte budget would not see).
  const body = deflated === undefined ? Buffer.from(buf.subarray(bodyAt)) : EMPTY
  const entry = meta as Omit<CacheEntry, 'kind' | 'version' | 'body'>
  // JSON has no undefined: validators that were absent come back absent.
  const record: CacheEntry = { ...entry, etag: entry.etag ?? undefined, lastModified: entry.lastModified ?? undefined, kind: 'entry', version, body }
  return { kind: 'entry', record, deflated }
}

const EMPTY = Buffer.alloc(0)

/** The version of an encoded record, without decoding it. */
export function versionOf(buf: Buffer): string {
  return buf.toString('latin1', VERSION_AT, FLAGS_AT)
}
