// Byte layout of the catalog file and the codec for its header copies. The layout is
// described at the top of store.ts; this file holds the numbers.
import {crc32c} from '../../dm/pdata/crc32c.js'

export const BLOCK_BYTES = 4096
/** Only this much of a header block matters, so one header write is one sector write. */
export const HEADER_BYTES = 512
export const HEADER_COPIES = 2
/** Records live after the two header blocks, each starting on a block boundary. */
export const RECORDS_START = HEADER_COPIES * BLOCK_BYTES
export const MAGIC = Buffer.from('FVMCATLG', 'latin1')
export const FORMAT_VERSION = 1

const FLAG_PREPARED = 1
const CHECKSUM_AT = 0
const MAGIC_AT = 4
const VERSION_AT = 12
const SEQUENCE_AT = 16
const FLAGS_AT = 24
const COMMITTED_AT = 32
const PREPARED_AT = 64

/** Where a checksummed JSON record sits in the file, and which transaction it holds. */
export interface RecordLocation {
  offset: number
  length: number
  checksum: number
  txid: number
}

export interface Header {
  /** Grows by one per header write; header `sequence` lives in copy `sequence % 2`. */
  sequence: number
  committed: RecordLocation
  prepared?: RecordLocation
}

export type HeaderCopy =
  | {ok: true; header: Header}
  /** `sealed`: magic and checksum are right, so this is no torn write but a bad header. */
  | {ok: false; sealed: boolean; problem: string}

export function headerOffset(sequence: number): number {
  return (sequence % HEADER_COPIES) * BLOCK_BYTES
}

export function alignUp(bytes: number): number {
  return Math.ceil(bytes / BLOCK_BYTES) * BLOCK_BYTES
}

/** The first byte after the record's block-aligned extent. */
export function recordEnd(r: RecordLocation): number {
  return r.offset + alignUp(r.length)
}

function writeU64(buf: Buffer, at: number, value: number): void {
  buf.writeBigUInt64LE(BigInt(value), at)
}

/** A u64 field as a safe integer, or undefined when it is too large to be one. */
function readU64(buf: Buffer, at: number): number | undefined {
  const value = buf.readBigUInt64LE(at)
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined
}

function writeLocation(buf: Buffer, at: number, r: RecordLocation): void {
  writeU64(buf, at, r.offset)
  writeU64(buf, at + 8, r.length)
  writeU64(buf, at + 16, r.txid)
  buf.writeUInt32LE(r.checksum, at + 24)
}

/** The record location at byte `at`, or what is wrong with it. */
function readLocation(buf: Buffer, at: number): RecordLocation | string {
  const offset = readU64(buf, at)
  const length = readU64(buf, at + 8)
  const txid = readU64(buf, at + 16)
  if (offset === undefined || length === undefined || txid === undefined) return 'has a record field beyond 2^53'
  if (offset < RECORDS_START || offset % BLOCK_BYTES !== 0) return `has a record at bad offset ${offset}`
  return {offset, length, txid, checksum: buf.readUInt32LE(at + 24)}
}

export function encodeHeader(h: Header): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES)
  MAGIC.copy(buf, MAGIC_AT)
  buf.writeUInt32LE(FORMAT_VERSION, VERSION_AT)
  writeU64(buf, SEQUENCE_AT, h.sequence)
  buf.writeUInt32LE(h.prepared ? FLAG_PREPARED : 0, FLAGS_AT)
  writeLocation(buf, COMMITTED_AT, h.committed)
  if (h.prepared) writeLocation(buf, PREPARED_AT, h.prepared)
  buf.writeUInt32LE(crc32c(buf.subarray(MAGIC_AT)), CHECKSUM_AT)
  return buf
}

/** Decodes the header copy found in slot `copy` (0 or 1). */
export function decodeHeader(buf: Buffer, copy: number): HeaderCopy {
  if (buf.length < HEADER_BYTES) return {ok: false, sealed: false, problem: 'is cut short'}
  if (!buf.subarray(MAGIC_AT, MAGIC_AT + MAGIC.length).equals(MAGIC)) return {ok: false, sealed: false, problem: 'has no magic'}
  if (buf.readUInt32LE(CHECKSUM_AT) !== crc32c(buf.subarray(MAGIC_AT, HEADER_BYTES))) {
    return {ok: false, sealed: false, problem: 'fails its checksum'}
  }
  const refuse = (problem: string): HeaderCopy => ({ok: false, sealed: true, problem})
  const version = buf.readUInt32LE(VERSION_AT)
  if (version !== FORMAT_VERSION) return refuse(`has format version ${version}, this fvm reads ${FORMAT_VERSION}`)
  const sequence = readU64(buf, SEQUENCE_AT)
  if (sequence === undefined) return refuse('has a sequence number beyond 2^53')
  if (sequence % HEADER_COPIES !== copy) return refuse(`has sequence number ${sequence}, which belongs in the other copy`)
  const flags = buf.readUInt32LE(FLAGS_AT)
  if ((flags & ~FLAG_PREPARED) !== 0) return refuse(`has unknown flags 0x${flags.toString(16)}`)
  const committed = readLocation(buf, COMMITTED_AT)
  if (typeof committed === 'string') return refuse(committed)
  const header: Header = {sequence, committed}
  if (flags & FLAG_PREPARED) {
    const prepared = readLocation(buf, PREPARED_AT)
    if (typeof prepared === 'string') return refuse(prepared)
    if (prepared.txid !== committed.txid + 1) {
      return refuse(`prepares transaction ${prepared.txid} on top of ${committed.txid}`)
    }
    if (prepared.offset < recordEnd(committed) && committed.offset < recordEnd(prepared)) {
      return refuse('has a prepared record overlapping the committed one')
    }
    header.prepared = prepared
  }
  return {ok: true, header}
}
