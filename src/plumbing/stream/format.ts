// The block-export stream, format 2: the extents that differ between a base snapshot
// and a target snapshot of a volume, as frames (frames.ts):
//
//   'H' header    UTF-8 JSON (StreamHeader), at most 64 KiB
//   'D' data      offset (u64) + XXH64 (u64) + data (512 B .. 4 MiB, 512-aligned)
//   'Z' zeros     offset (u64) + length (u64) + crc (u32): the range reads as zeros in the target
//   'T' trailer   extents (u64) + dataBytes (u64) + zeroBytes (u64) + stream CRC-32 (u32)
//
// Numbers are big-endian. Offsets and lengths are bytes, not blocks, so a receiver
// with another block size reads the same stream. Extents are ascending and disjoint.
//
// Every extent record carries its own checksum, over all its other payload bytes: a
// 'D' record's XXH64 over its offset and then its data, a 'Z' record's CRC-32 over its
// offset and length. So each record is checked on its own, before anything it says is
// used, and a receiver may commit progress at any record boundary, long before the
// trailer. The stream CRC chains over every byte from the 'H' frame up to the 'T' frame
// except the data of 'D' frames, which their own checksum covers: the data is hashed
// once. Data is hashed with XXH64 rather than CRC-32 because that hashing is most of
// what each side's CPU does: Node's CRC-32 runs at 3-4 GiB/s here, XXH64 (WebAssembly)
// at 6-7 GiB/s, and a 64-bit hash misses a damaged record less often besides.
//
// The rules live here once, for the encoder and the decoder both (see docs/fvm-stream.5.md).
import zlib from 'node:zlib'
import xxhash64Module from 'hash-wasm/dist/xxhash64.umd.min.js'
import {isUuid} from '../catalog/model.js'
import {nameProblem} from '../names.js'

export const STREAM_FORMAT = 2

/** Frame kinds of the stream: 'H', 'D', 'Z', 'T'. */
export const RecordKind = {header: 0x48, data: 0x44, zero: 0x5a, trailer: 0x54} as const

export const SECTOR = 512
export const MAX_HEADER_LENGTH = 64 * 1024
/** The most data one 'D' record carries: bounds what a receiver holds per record. */
export const MAX_DATA = 4 * 1024 * 1024
export const MIN_BLOCK_SIZE = 64 * 1024
export const MAX_BLOCK_SIZE = 1024 * 1024 * 1024
/** offset (u64) + XXH64 (u64) before the data of a 'D' record. */
export const DATA_PREFIX_LENGTH = 16
/** Where a 'D' payload's checksum is: after the 8-byte offset. */
export const DATA_CHECKSUM_AT = 8
/** offset (u64) + length (u64) + crc (u32). */
export const ZERO_PAYLOAD_LENGTH = 20
/** Where a 'Z' payload's crc is: after the offset and the length, the 16 bytes it covers. */
export const ZERO_CRC_AT = 16
export const TRAILER_PAYLOAD_LENGTH = 28

export interface StreamHeader {
  format: typeof STREAM_FORMAT
  /** The sending instance's name. */
  instance: string
  /** size: bytes. */
  volume: {uuid: string; name: string; size: number}
  branch: string
  /** The sender pool's data block size, bytes. */
  blockSize: number
  /** The snapshot this is a delta against; null: a full stream. */
  base: string | null
  target: {uuid: string; parent: string | null; created: string}
  /** Byte offset every extent starts at or after: where an interrupted stream resumes. */
  resumeFrom: number
  /** How many 'D' and 'Z' records follow. */
  extents: number
  /** Total data bytes of the 'D' records. */
  dataBytes: number
  /** Total length of the 'Z' records. */
  zeroBytes: number
}

export interface StreamCounts {
  extents: number
  dataBytes: number
  zeroBytes: number
}

export type ExtentKind = 'data' | 'zero'

export const crc32: (data: Uint8Array, value?: number) => number = zlib.crc32

// Instantiated once, when the stream code loads (about 2 ms); used synchronously after.
const xxh64 = await xxhash64Module.createXXHash64()

/**
 * A 'D' record's checksum: XXH64 (seed 0) of its 8 offset bytes followed by its data,
 * as 8 bytes, big-endian; fed in two parts, so the data is neither copied nor joined to
 * the offset to be hashed.
 */
export function dataRecordChecksum(offsetField: Uint8Array, data: Uint8Array): Buffer {
  xxh64.init()
  xxh64.update(offsetField)
  xxh64.update(data)
  const digest = xxh64.digest('binary')
  return Buffer.from(digest.buffer, digest.byteOffset, digest.length)
}

/** A 'Z' record's crc: CRC-32 of its first 16 payload bytes, offset and length. */
export function zeroRecordCrc(payload: Uint8Array): number {
  return crc32(payload.subarray(0, ZERO_CRC_AT))
}

export function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`
}

const TWO_32 = 2 ** 32

/** A u64 at `at`, or undefined from 2^53 on, where a number would no longer be exact. */
export function readU64(buffer: Buffer, at: number): number | undefined {
  const high = buffer.readUInt32BE(at)
  if (high > 0x1fffff) return undefined
  return high * TWO_32 + buffer.readUInt32BE(at + 4)
}

export function writeU64(buffer: Buffer, at: number, value: number): void {
  buffer.writeUInt32BE(Math.floor(value / TWO_32), at)
  buffer.writeUInt32BE(value % TWO_32, at + 4)
}

/** A value as it may be shown in a one-line message: JSON, bounded, with no line breaks. */
function shown(value: unknown): string {
  if (value === undefined) return 'nothing'
  // JSON escapes C0 controls; DEL, C1 and the Unicode line separators it leaves as they are.
  const json = JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  return json.length > 60 ? `${json.slice(0, 57)}...` : json
}

type Fields = Record<string, unknown>

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Why `value` does not have exactly `keys`, or undefined. `at` prefixes key names ("volume."). */
function keysProblem(value: Fields, keys: readonly string[], at: string): string | undefined {
  const unknown = Object.keys(value).find((key) => !keys.includes(key))
  if (unknown !== undefined) return `unknown field ${shown(at + unknown)}`
  const missing = keys.find((key) => !Object.hasOwn(value, key))
  return missing === undefined ? undefined : `missing field "${at}${missing}"`
}

function nameFieldProblem(value: unknown, field: string): string | undefined {
  if (typeof value !== 'string') return `${field} must be a name (got ${shown(value)})`
  const problem = nameProblem(value)
  return problem && `${field} ${shown(value)} ${problem}`
}

function uuidFieldProblem(value: unknown, field: string, nullable: boolean): string | undefined {
  if (isUuid(value) || (nullable && value === null)) return undefined
  return `${field} must be a lowercase uuid${nullable ? ' or null' : ''} (got ${shown(value)})`
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0
const isSectors = (value: unknown): value is number => isCount(value) && value % SECTOR === 0

function isBlockSize(value: unknown): boolean {
  if (!Number.isSafeInteger(value)) return false
  const size = value as number
  // In range first: the bit test needs a value below 2^31.
  return size >= MIN_BLOCK_SIZE && size <= MAX_BLOCK_SIZE && (size & (size - 1)) === 0
}

/** ISO 8601 as toISOString() writes it, or with an offset; Date.parse then rules out month 13 and the like. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/

function isIsoTime(value: unknown): boolean {
  return typeof value === 'string' && ISO_TIME.test(value) && !Number.isNaN(Date.parse(value))
}

const HEADER_KEYS = ['format', 'instance', 'volume', 'branch', 'blockSize', 'base', 'target', 'resumeFrom', 'extents', 'dataBytes', 'zeroBytes'] as const
const VOLUME_KEYS = ['uuid', 'name', 'size'] as const
const TARGET_KEYS = ['uuid', 'parent', 'created'] as const

/** Why `value` is not a format 1 header, or undefined; one problem, the first found. */
function headerProblem(value: Fields): string | undefined {
  // The format first: a newer stream gets "unsupported format", not "unknown field".
  if (!Object.hasOwn(value, 'format')) return 'missing field "format"'
  if (value.format !== STREAM_FORMAT) return `unsupported format ${shown(value.format)} (this fvm reads format ${STREAM_FORMAT})`
  const keys = keysProblem(value, HEADER_KEYS, '')
  if (keys) return keys
  const {volume, target, blockSize, resumeFrom, extents, dataBytes, zeroBytes} = value
  if (!isFields(volume)) return `volume must be an object (got ${shown(volume)})`
  if (!isFields(target)) return `target must be an object (got ${shown(target)})`
  const size = volume.size
  const problem = nameFieldProblem(value.instance, 'instance')
    ?? keysProblem(volume, VOLUME_KEYS, 'volume.')
    ?? uuidFieldProblem(volume.uuid, 'volume.uuid', false)
    ?? nameFieldProblem(volume.name, 'volume.name')
    ?? (isSectors(size) && size > 0 ? undefined : `volume.size must be a positive multiple of ${SECTOR} (got ${shown(size)})`)
    ?? nameFieldProblem(value.branch, 'branch')
    ?? (isBlockSize(blockSize) ? undefined : `blockSize must be a power of two from ${MIN_BLOCK_SIZE} to ${MAX_BLOCK_SIZE} (got ${shown(blockSize)})`)
    ?? uuidFieldProblem(value.base, 'base', true)
    ?? keysProblem(target, TARGET_KEYS, 'target.')
    ?? uuidFieldProblem(target.uuid, 'target.uuid', false)
    ?? uuidFieldProblem(target.parent, 'target.parent', true)
    ?? (isIsoTime(target.created) ? undefined : `target.created must be an ISO 8601 time (got ${shown(target.created)})`)
    ?? (value.base === target.uuid ? 'base and target.uuid are the same snapshot' : undefined)
    ?? (target.parent === target.uuid ? 'target.parent and target.uuid are the same snapshot' : undefined)
  if (problem) return problem
  const volumeSize = size as number
  if (!isSectors(resumeFrom) || resumeFrom > volumeSize) return `resumeFrom must be a multiple of ${SECTOR} from 0 to volume.size ${volumeSize} (got ${shown(resumeFrom)})`
  if (!isCount(extents)) return `extents must be a non-negative integer (got ${shown(extents)})`
  if (!isSectors(dataBytes)) return `dataBytes must be a non-negative multiple of ${SECTOR} (got ${shown(dataBytes)})`
  if (!isSectors(zeroBytes)) return `zeroBytes must be a non-negative multiple of ${SECTOR} (got ${shown(zeroBytes)})`
  const bytes = dataBytes + zeroBytes
  if (bytes > volumeSize - resumeFrom) return `dataBytes + zeroBytes (${bytes}) exceed the ${volumeSize - resumeFrom} bytes from resumeFrom to the end of the volume`
  // Every extent has at least one sector, and bytes need extents to carry them.
  if (bytes < extents * SECTOR || (bytes > 0 && extents === 0)) return `${extents} extents cannot carry dataBytes + zeroBytes (${bytes})`
  return undefined
}

/**
 * The header `value` describes, checked field by field (exact keys, uuids, names,
 * sizes, counts), as a fresh object in canonical key order. `fail` throws with the
 * first problem found; the encoder and the decoder each say what kind of error that is.
 */
export function checkHeader(value: unknown, fail: (problem: string) => never): StreamHeader {
  if (!isFields(value)) return fail(`not an object (got ${shown(value)})`)
  const problem = headerProblem(value)
  if (problem) return fail(problem)
  const h = value as unknown as StreamHeader
  // `+ 0` turns JSON's -0 into 0, so equal headers compare and encode alike.
  return {
    format: STREAM_FORMAT,
    instance: h.instance,
    volume: {uuid: h.volume.uuid, name: h.volume.name, size: h.volume.size},
    branch: h.branch,
    blockSize: h.blockSize,
    base: h.base,
    target: {uuid: h.target.uuid, parent: h.target.parent, created: h.target.created},
    resumeFrom: h.resumeFrom + 0,
    extents: h.extents + 0,
    dataBytes: h.dataBytes + 0,
    zeroBytes: h.zeroBytes + 0,
  }
}

/**
 * What a stream has carried so far, held to its header: the rules every extent and the
 * end of the stream follow, shared by the encoder and the decoder so they cannot drift.
 */
export class ExtentTally {
  readonly header: StreamHeader
  readonly #counts: StreamCounts = {extents: 0, dataBytes: 0, zeroBytes: 0}
  /** The lowest offset the next extent may start at. */
  #next: number

  constructor(header: StreamHeader) {
    this.header = header
    this.#next = header.resumeFrom
  }

  get counts(): StreamCounts {
    return {...this.#counts}
  }

  /** Why an extent may not come next, or undefined, and then it is counted. */
  add(kind: ExtentKind, offset: number, length: number): string | undefined {
    const {header} = this
    const size = header.volume.size
    const counts = this.#counts
    const announced = kind === 'data' ? header.dataBytes : header.zeroBytes
    const carried = kind === 'data' ? counts.dataBytes : counts.zeroBytes
    const problem = !isSectors(offset) ? `offset not a multiple of ${SECTOR}`
      : !isSectors(length) || length === 0 ? `length not a positive multiple of ${SECTOR}`
      : kind === 'data' && length > MAX_DATA ? `length above the ${MAX_DATA} bytes a data record may carry`
      : offset < header.resumeFrom ? `starts before resumeFrom ${header.resumeFrom}`
      : offset < this.#next ? `overlaps or precedes the previous extent, which ends at byte ${this.#next}`
      : offset + length > size ? `ends at byte ${offset + length}, past the end of the ${size}-byte volume`
      : counts.extents === header.extents ? `one extent more than the ${header.extents} the header announced`
      : carried + length > announced ? `${kind}Bytes would reach ${carried + length}, above the ${announced} the header announced`
      : undefined
    if (problem) return problem
    counts.extents += 1
    if (kind === 'data') counts.dataBytes += length
    else counts.zeroBytes += length
    this.#next = offset + length
    return undefined
  }

  /** Why the stream may not end here, with `trailer` as the counts its trailer claims, or undefined. */
  endProblem(trailer: StreamCounts): string | undefined {
    for (const field of ['extents', 'dataBytes', 'zeroBytes'] as const) {
      const announced = this.header[field]
      if (this.#counts[field] !== announced) return `the stream ends with ${field} ${this.#counts[field]}, the header announced ${announced}`
      if (trailer[field] !== announced) return `the trailer says ${field} ${trailer[field]}, the header announced ${announced}`
    }
    return undefined
  }
}

/**
 * `length` bytes from `offset` as extents of at most `max` bytes each, for data
 * records; ascending, so they can be sent as they come.
 */
export function* splitDataExtent(offset: number, length: number, max = MAX_DATA): Generator<{offset: number; length: number}> {
  if (!isSectors(max) || max === 0) throw new Error(`extent size limit ${max} is not a positive multiple of ${SECTOR}`)
  for (let at = offset; at < offset + length; at += max) yield {offset: at, length: Math.min(max, offset + length - at)}
}
