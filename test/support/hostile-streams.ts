// Block-export streams for tests: small valid ones (buildValidStream), a decoder that
// reads one whole input (decodeStream), and hostileStreams(): mutations of a valid
// stream, deterministic for a seed, that a receiver must refuse (or, for the few that
// stay valid, decode exactly as the encoder would write them).
//
// Structured mutations fix up the checksums they break, a 'D' or 'Z' record's own and
// the stream's, unless their name ends in "(stale crc)" (or they aim at a record's CRC
// itself), so they reach the check they aim at instead of stopping at a CRC. Those
// aimed at one check say what its refusal must read (HostileStream.expected).
// Garbage after the trailer is refused only by whoever reads on after the stream;
// decodeStream insists on the end of the input there, as a receiver with nothing
// else to read does.
import {type DataRecord, type DecoderLimits, StreamDecoder, type ZeroRecord} from '../../src/plumbing/stream/decoder.js'
import {StreamEncoder} from '../../src/plumbing/stream/encoder.js'
import {
  crc32, DATA_CHECKSUM_AT, DATA_PREFIX_LENGTH, dataRecordChecksum, MAX_DATA, MAX_HEADER_LENGTH, RecordKind, STREAM_FORMAT, type StreamCounts, type StreamHeader,
  TRAILER_PAYLOAD_LENGTH, ZERO_CRC_AT, ZERO_PAYLOAD_LENGTH, zeroRecordCrc,
} from '../../src/plumbing/stream/format.js'
import {FRAME_HEAD_LENGTH, FrameReader} from '../../src/plumbing/stream/frames.js'

/** A small seeded PRNG (a Weyl sequence through a 32-bit mixer): the same seed, the same streams. */
export class Random {
  #state: number

  constructor(seed: number) {
    this.#state = seed >>> 0
  }

  /** 32 random bits. */
  next(): number {
    this.#state = (this.#state + 0x9e3779b9) >>> 0
    let z = this.#state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.next() / 2 ** 32) * n)
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length)
    for (let i = 0; i < length; i++) out[i] = this.next() & 0xff
    return out
  }
}

export type ExtentSpec = {offset: number; data: Buffer} | {offset: number; zeros: number}
export type StreamRecord = DataRecord | ZeroRecord

export interface StreamSpec {
  /** Header fields to change; the counts always follow from the extents. */
  header?: Partial<Omit<StreamHeader, 'extents' | 'dataBytes' | 'zeroBytes'>>
  extents?: ExtentSpec[]
}

export const uuids = {
  volume: '0b8d7c1e-5a4f-4c1e-9d2a-3f6e8b7a1c01',
  base: '0b8d7c1e-5a4f-4c1e-9d2a-3f6e8b7a1c02',
  target: '0b8d7c1e-5a4f-4c1e-9d2a-3f6e8b7a1c03',
}

const MiB = 1024 * 1024

/** Zeros, a 1 KiB data extent, more zeros, and 512 data bytes ending the 1 MiB volume. */
function defaultExtents(): ExtentSpec[] {
  const random = new Random(1)
  return [
    {offset: 0, zeros: 65536},
    {offset: 65536, data: random.bytes(1024)},
    {offset: 131072, zeros: 65536},
    {offset: MiB - 512, data: random.bytes(512)},
  ]
}

/** The header buildValidStream writes for `spec`. */
export function streamHeader(spec: StreamSpec = {}): StreamHeader {
  const extents = spec.extents ?? defaultExtents()
  return {
    format: STREAM_FORMAT,
    instance: 'sender',
    volume: {uuid: uuids.volume, name: 'mydata', size: MiB},
    branch: 'trunk',
    blockSize: 65536,
    base: null,
    target: {uuid: uuids.target, parent: null, created: '2024-05-01T12:00:00.000Z'},
    resumeFrom: 0,
    ...spec.header,
    extents: extents.length,
    dataBytes: extents.reduce((sum, e) => sum + ('data' in e ? e.data.length : 0), 0),
    zeroBytes: extents.reduce((sum, e) => sum + ('zeros' in e ? e.zeros : 0), 0),
  }
}

export function buildValidStream(spec: StreamSpec = {}): Buffer {
  const header = streamHeader(spec)
  return encodeStream(header, (spec.extents ?? defaultExtents()).map((e) =>
    'data' in e ? {kind: 'data', offset: e.offset, data: e.data} : {kind: 'zero', offset: e.offset, length: e.zeros}))
}

/** The stream the encoder writes for `header` and `records`, as one buffer. */
export function encodeStream(header: StreamHeader, records: readonly StreamRecord[]): Buffer {
  const encoder = new StreamEncoder(header)
  const parts = encoder.header()
  for (const r of records) parts.push(...(r.kind === 'data' ? encoder.data(r.offset, r.data) : encoder.zero(r.offset, r.length)))
  parts.push(...encoder.trailer())
  return Buffer.concat(parts)
}

/** `bytes` as an input of chunks whose sizes `size()` picks (a number: all that size). */
export async function* chunked(bytes: Buffer, size: number | (() => number)): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length;) {
    const length = Math.max(1, typeof size === 'number' ? size : size())
    yield bytes.subarray(at, at + length)
    at += length
  }
}

export interface DecodedStream {
  header: StreamHeader
  records: StreamRecord[]
  counts: StreamCounts
}

/** Decodes a whole input that must hold one stream and nothing after it. */
export async function decodeStream(input: Buffer | AsyncIterable<Buffer>, limits?: DecoderLimits): Promise<DecodedStream> {
  const frames = new FrameReader(Buffer.isBuffer(input) ? chunked(input, input.length) : input)
  const decoder = new StreamDecoder(frames, limits)
  const header = await decoder.header()
  const records: StreamRecord[] = []
  for (;;) {
    const record = await decoder.next()
    if (record.kind === 'end') {
      // Nothing may follow: any frame at all is refused here, a partial one is truncation.
      await frames.next(() => 0)
      return {header, records, counts: record.counts}
    }
    records.push(record)
  }
}

export interface HostileStream {
  name: string
  bytes: Buffer
  /** For a mutation aimed at one check: what its refusal must say. */
  expected?: RegExp
}

/** A frame as the tests build it by hand, whatever it holds. */
export interface RawFrame {
  kind: number
  payload: Buffer
}

function u64(value: number | bigint): Buffer {
  const bytes = Buffer.alloc(8)
  bytes.writeBigUInt64BE(BigInt(value))
  return bytes
}

/**
 * Frames built field by field, right or wrong: u64 fields take bigints above 2^53, and
 * a record's checksum is the right one for its fields unless one is given.
 */
export const rawFrames = {
  header: (value: unknown): RawFrame => ({kind: RecordKind.header, payload: Buffer.from(JSON.stringify(value), 'utf8')}),
  data: (offset: number | bigint, data: Buffer, checksum?: bigint): RawFrame => {
    const prefix = Buffer.alloc(DATA_PREFIX_LENGTH)
    u64(offset).copy(prefix)
    if (checksum === undefined) dataRecordChecksum(prefix.subarray(0, DATA_CHECKSUM_AT), data).copy(prefix, DATA_CHECKSUM_AT)
    else prefix.writeBigUInt64BE(checksum, DATA_CHECKSUM_AT)
    return {kind: RecordKind.data, payload: Buffer.concat([prefix, data])}
  },
  zero: (offset: number | bigint, length: number | bigint, crc?: number): RawFrame => {
    const payload = Buffer.concat([u64(offset), u64(length), Buffer.alloc(4)])
    payload.writeUInt32BE(crc ?? zeroRecordCrc(payload), ZERO_CRC_AT)
    return {kind: RecordKind.zero, payload}
  },
  trailer: (counts: {[K in keyof StreamCounts]: number | bigint}): RawFrame => ({
    kind: RecordKind.trailer,
    payload: Buffer.concat([u64(counts.extents), u64(counts.dataBytes), u64(counts.zeroBytes), Buffer.alloc(4)]),
  }),
}

/** The bytes of `frames`, the first trailer's stream CRC computed over the frames before it. */
export function assembleStream(frames: readonly RawFrame[]): Buffer {
  return joinFrames(cloneFrames(frames), true)
}

/** The frames of a stream known to be well framed. */
function splitFrames(bytes: Buffer): RawFrame[] {
  const frames: RawFrame[] = []
  for (let at = 0; at < bytes.length;) {
    const length = bytes.readUInt32BE(at + 1)
    frames.push({kind: bytes[at], payload: Buffer.from(bytes.subarray(at + FRAME_HEAD_LENGTH, at + FRAME_HEAD_LENGTH + length))})
    at += FRAME_HEAD_LENGTH + length
  }
  return frames
}

/** The bytes of `frames`; with fixCrc, the first trailer gets the stream CRC of the frames before it. */
function joinFrames(frames: readonly RawFrame[], fixCrc: boolean): Buffer {
  const heads = frames.map((f) => {
    const head = Buffer.allocUnsafe(FRAME_HEAD_LENGTH)
    head[0] = f.kind
    head.writeUInt32BE(f.payload.length, 1)
    return head
  })
  const trailer = frames.findIndex((f) => f.kind === RecordKind.trailer && f.payload.length === TRAILER_PAYLOAD_LENGTH)
  if (fixCrc && trailer >= 0) {
    let crc = 0
    for (let i = 0; i < trailer; i++) {
      const {kind, payload} = frames[i]
      const covered = kind === RecordKind.data && payload.length >= DATA_PREFIX_LENGTH ? payload.subarray(0, DATA_PREFIX_LENGTH) : payload
      crc = crc32(covered, crc32(heads[i], crc))
    }
    frames[trailer].payload.writeUInt32BE(crc, 24)
  }
  return Buffer.concat(frames.flatMap((f, i) => [heads[i], f.payload]))
}

function cloneFrames(frames: readonly RawFrame[]): RawFrame[] {
  return frames.map((f) => ({kind: f.kind, payload: Buffer.from(f.payload)}))
}

/** A stream from a copy of `frames` changed by `edit`; with a fixed stream CRC unless stale. */
function edited(name: string, frames: readonly RawFrame[], edit: (frames: RawFrame[]) => void, stale = false): HostileStream {
  const copy = cloneFrames(frames)
  edit(copy)
  return {name: stale ? `${name} (stale crc)` : name, bytes: joinFrames(copy, !stale)}
}

/** A 'D' or 'Z' record's own CRC made right for its fields again, when it still has room for one. */
function fixRecordCrc(frame: RawFrame): void {
  const {kind, payload} = frame
  if (kind === RecordKind.data && payload.length >= DATA_PREFIX_LENGTH) {
    dataRecordChecksum(payload.subarray(0, DATA_CHECKSUM_AT), payload.subarray(DATA_PREFIX_LENGTH)).copy(payload, DATA_CHECKSUM_AT)
  } else if (kind === RecordKind.zero && payload.length === ZERO_PAYLOAD_LENGTH) {
    payload.writeUInt32BE(zeroRecordCrc(payload), ZERO_CRC_AT)
  }
}

/** Where a record's own CRC is in its payload. */
const recordCrcAt = (kind: number): number => (kind === RecordKind.data ? DATA_CHECKSUM_AT : ZERO_CRC_AT)

const kindChar = (kind: number): string => String.fromCharCode(kind)
const U64_VALUES = [2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]

function* truncations(valid: Buffer, random: Random): Generator<HostileStream> {
  const offsets = valid.length <= 65536 ? valid.keys() : Array.from({length: 4096}, () => random.below(valid.length))
  for (const at of offsets) yield {name: `truncated at ${at}`, bytes: valid.subarray(0, at)}
}

/** Every bit of every byte that is not 'D' data (heads, header, prefixes, trailer), then random bits anywhere. */
function* bitFlips(valid: Buffer, frames: readonly RawFrame[], random: Random): Generator<HostileStream> {
  const flip = (at: number, bit: number): HostileStream => {
    const bytes = Buffer.from(valid)
    bytes[at] ^= 1 << bit
    return {name: `bit ${bit} of byte ${at} flipped`, bytes}
  }
  let at = 0
  for (const {kind, payload} of frames) {
    const structure = FRAME_HEAD_LENGTH + (kind === RecordKind.data ? DATA_PREFIX_LENGTH : payload.length)
    for (let i = at; i < at + structure; i++) for (let bit = 0; bit < 8; bit++) yield flip(i, bit)
    at += FRAME_HEAD_LENGTH + payload.length
  }
  for (let i = 0; i < 256; i++) yield flip(random.below(valid.length), random.below(8))
}

function* frameHeads(frames: readonly RawFrame[]): Generator<HostileStream> {
  for (const [i, frame] of frames.entries()) {
    const length = frame.payload.length
    const lengths = [0, 1, length - 1, length + 1, MAX_HEADER_LENGTH, MAX_HEADER_LENGTH + 1, DATA_PREFIX_LENGTH + MAX_DATA,
      DATA_PREFIX_LENGTH + MAX_DATA + 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]
    for (const value of lengths.filter((v) => v >= 0 && v !== length)) {
      const bytes = joinFrames(frames, false)
      bytes.writeUInt32BE(value, offsetOfFrame(frames, i) + 1)
      yield {name: `frame ${i} '${kindChar(frame.kind)}' length ${value}`, bytes}
    }
    for (const kind of [RecordKind.header, RecordKind.data, RecordKind.zero, RecordKind.trailer, 0x4d, 0x00, 0xff]) {
      if (kind !== frame.kind) yield edited(`frame ${i} kind 0x${kind.toString(16)}`, frames, (f) => void (f[i].kind = kind))
    }
  }
}

function offsetOfFrame(frames: readonly RawFrame[], index: number): number {
  return frames.slice(0, index).reduce((sum, f) => sum + FRAME_HEAD_LENGTH + f.payload.length, 0)
}

/**
 * Offsets and lengths out of range, unaligned, overlapping or descending, with their
 * record's CRC fixed; bad data lengths and CRCs; and single bits of offsets and lengths
 * flipped with every CRC left stale, which a record's own CRC must catch at once.
 */
function* extents(frames: readonly RawFrame[], header: StreamHeader): Generator<HostileStream> {
  const size = header.volume.size
  let previous: {offset: number; end: number} | undefined
  for (const [i, frame] of frames.entries()) {
    const isData = frame.kind === RecordKind.data
    if (!isData && frame.kind !== RecordKind.zero) continue
    const offset = Number(frame.payload.readBigUInt64BE(0))
    const length = isData ? frame.payload.length - DATA_PREFIX_LENGTH : Number(frame.payload.readBigUInt64BE(8))
    const what = `${isData ? 'data' : 'zero'} frame ${i}`
    /** The u64 field at `at` set to `value`, the record's CRC fixed. */
    const field = (at: number, value: number | bigint) => (f: RawFrame[]): void => {
      f[i].payload.writeBigUInt64BE(BigInt(value), at)
      fixRecordCrc(f[i])
    }
    const offsets = [size, size - 512, size + 512, 2 ** 53 - 512, offset + 1, offset + 256, offset - 512, offset + 512, 0,
      header.resumeFrom - 512, ...(previous ? [previous.offset, previous.end - 512] : [])]
    for (const value of offsets.filter((v) => v >= 0 && v !== offset)) yield edited(`${what} offset ${value}`, frames, field(0, value))
    for (const value of U64_VALUES) yield edited(`${what} offset ${value}`, frames, field(0, value))
    const crcAt = recordCrcAt(frame.kind)
    const digits = isData ? 16 : 8
    const checksum = new RegExp(`^${isData ? 'data' : 'zero'} record at stream byte ${offsetOfFrame(frames, i)}: checksum mismatch \\(recorded 0x[0-9a-f]{${digits}}, computed 0x[0-9a-f]{${digits}}\\)$`)
    const flips: [string, number][] = [['offset', 0], ...(isData ? [] : [['length', 8]] as [string, number][])]
    for (const [name, at] of flips) {
      for (let bit = 0; bit < 64; bit++) {
        const flip = (f: RawFrame[]): void => void (f[i].payload[at + 7 - (bit >> 3)] ^= 1 << (bit & 7))
        yield {...edited(`frame ${i}, bit ${bit}: ${isData ? 'D' : 'Z'} ${name} bit flip`, frames, flip, true), expected: checksum}
      }
    }
    yield {...edited(`${what} crc off by one bit`, frames, (f) => void (f[i].payload[crcAt + 3] ^= 1)), expected: checksum}
    if (isData) {
      const resized = (delta: number) => (f: RawFrame[]): void => {
        const data = f[i].payload.subarray(DATA_PREFIX_LENGTH)
        const changed = delta < 0 ? data.subarray(0, data.length + delta) : Buffer.concat([data, Buffer.alloc(delta, 0x5a)])
        f[i].payload = Buffer.concat([f[i].payload.subarray(0, DATA_PREFIX_LENGTH), changed])
        fixRecordCrc(f[i])
      }
      for (const delta of [-1, -511, -length, 1, 512, 4096]) yield edited(`${what} data length ${length + delta}`, frames, resized(delta))
      for (const keep of [0, 8, 11]) yield edited(`${what} payload of ${keep} bytes`, frames, (f) => void (f[i].payload = f[i].payload.subarray(0, keep)))
      yield {...edited(`${what} data changed`, frames, (f) => void (f[i].payload[DATA_PREFIX_LENGTH + length - 1] ^= 0x80)), expected: checksum}
      yield edited(`${what} data changed, crc fixed`, frames, (f) => {
        f[i].payload[DATA_PREFIX_LENGTH] ^= 1
        fixRecordCrc(f[i])
      }, true)
    } else {
      for (const value of [0, 1, 511, 513, length + 512, length * 2, size, size - offset + 512, 2 ** 53 - 512]) {
        if (value !== length) yield edited(`${what} length ${value}`, frames, field(8, value))
      }
      for (const value of U64_VALUES) yield edited(`${what} length ${value}`, frames, field(8, value))
      for (const keep of [0, 8, 15, 16, 19]) yield edited(`${what} payload of ${keep} bytes`, frames, (f) => void (f[i].payload = f[i].payload.subarray(0, keep)))
      yield edited(`${what} payload of 21 bytes`, frames, (f) => void (f[i].payload = Buffer.concat([f[i].payload, Buffer.alloc(1)])))
      yield edited(`${what} length changed, crc fixed`, frames, field(8, length + 512), true)
    }
    previous = {offset, end: offset + length}
  }
}

/** Frames dropped, duplicated, swapped with the next, or moved first. */
function* frameOrder(frames: readonly RawFrame[]): Generator<HostileStream> {
  for (const stale of [false, true]) {
    for (const i of frames.keys()) {
      yield edited(`frame ${i} dropped`, frames, (f) => void f.splice(i, 1), stale)
      yield edited(`frame ${i} duplicated`, frames, (f) => void f.splice(i, 0, cloneFrames([f[i]])[0]), stale)
      if (i + 1 < frames.length) yield edited(`frames ${i} and ${i + 1} swapped`, frames, (f) => void f.splice(i, 2, f[i + 1], f[i]), stale)
      if (i > 0) yield edited(`frame ${i} moved first`, frames, (f) => void f.unshift(...f.splice(i, 1)), stale)
    }
  }
}

/** Trailer counts and CRC wrong, alone and together with the header's. */
function* trailers(frames: readonly RawFrame[]): Generator<HostileStream> {
  const t = frames.length - 1
  for (const [field, at] of [['extents', 0], ['dataBytes', 8], ['zeroBytes', 16]] as const) {
    const value = Number(frames[t].payload.readBigUInt64BE(at))
    for (const changed of [value + 1, value - 1, value + 512, 0, 2 ** 53 - 1].filter((v) => v >= 0 && v !== value)) {
      yield edited(`trailer ${field} ${changed}`, frames, (f) => f[t].payload.writeBigUInt64BE(BigInt(changed), at))
    }
    for (const big of U64_VALUES) yield edited(`trailer ${field} ${big}`, frames, (f) => f[t].payload.writeBigUInt64BE(big, at))
  }
  for (const mask of [1, 0x80000000, 0xffffffff]) {
    yield edited(`trailer stream crc xor ${mask}`, frames, (f) => f[t].payload.writeUInt32BE((f[t].payload.readUInt32BE(24) ^ mask) >>> 0, 24), true)
  }
  yield edited('trailer of 27 bytes', frames, (f) => void (f[t].payload = f[t].payload.subarray(0, 27)))
  yield edited('trailer of 29 bytes', frames, (f) => void (f[t].payload = Buffer.concat([f[t].payload, Buffer.alloc(1)])))
}

function* garbageAfterTrailer(valid: Buffer): Generator<HostileStream> {
  const garbage: [string, Buffer][] = [
    ['one zero byte', Buffer.alloc(1)], ['an empty M frame', Buffer.from([0x4d, 0, 0, 0, 0])], ['16 bytes of 0xff', Buffer.alloc(16, 0xff)],
    ['a partial frame head', Buffer.from([0x44, 0, 0])], ['the stream again', valid], ['its trailer again', valid.subarray(valid.length - 33)],
  ]
  for (const [what, bytes] of garbage) yield {name: `garbage after the trailer: ${what}`, bytes: Buffer.concat([valid, bytes])}
}

type Json = null | boolean | number | string | Json[] | {[key: string]: Json}
type JsonObject = {[key: string]: Json}

/** A copy of `value` with the field at `path` ("volume.size") set, or deleted when `to` is undefined. */
function withField(value: JsonObject, path: string, to: Json | undefined): JsonObject {
  const copy = structuredClone(value)
  const keys = path.split('.')
  let parent: JsonObject = copy
  for (const key of keys.slice(0, -1)) parent = parent[key] as JsonObject
  const last = keys[keys.length - 1]
  if (to === undefined) delete parent[last]
  else Object.defineProperty(parent, last, {value: to, enumerable: true, writable: true, configurable: true})
  return copy
}

/** Hostile header JSON: wrong types and values for every field, extra and missing keys, bad text. */
function* headers(frames: readonly RawFrame[], header: StreamHeader): Generator<HostileStream> {
  const json = JSON.parse(frames[0].payload.toString('utf8')) as JsonObject
  const withText = (name: string, text: string | Buffer): HostileStream =>
    edited(`header ${name}`, frames, (f) => void (f[0].payload = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8')))
  const withValue = (path: string, to: Json | undefined): HostileStream =>
    withText(`${path} ${to === undefined ? 'missing' : JSON.stringify(to).slice(0, 40)}`, JSON.stringify(withField(json, path, to)))

  const paths = ['format', 'instance', 'volume', 'volume.uuid', 'volume.name', 'volume.size', 'branch', 'blockSize', 'base', 'target',
    'target.uuid', 'target.parent', 'target.created', 'resumeFrom', 'extents', 'dataBytes', 'zeroBytes']
  const anyField: Json[] = [null, true, 'x', '', 0, -1, 0.5, 1e308, 2 ** 53, 2 ** 64, -(2 ** 53), [], {}, 'NaN', '1', [1], {a: 1}]
  for (const path of paths) {
    yield withValue(path, undefined)
    for (const to of anyField) yield withValue(path, to)
  }
  const names = ['../x', 'a/b', '..', '.x', '-x', 'a b', 'x'.repeat(129), 'x'.repeat(300), 'a\u0000b', 'a\nb', 'é', 'a\u2215b', 'x;rm -rf', '$(id)', 'a\\b', '']
  for (const path of ['instance', 'volume.name', 'branch']) for (const name of names) yield withValue(path, name)
  const uuid = header.target.uuid
  const uuidValues = [uuid.toUpperCase(), uuid.replaceAll('-', ''), `{${uuid}}`, uuid.slice(1), `${uuid}0`, `g${uuid.slice(1)}`, ` ${uuid}`]
  for (const path of ['volume.uuid', 'target.uuid', 'base', 'target.parent']) for (const to of uuidValues) yield withValue(path, to)
  yield withValue('base', uuid)
  yield withValue('target.parent', uuid)
  const size = header.volume.size
  const numbers: [string, Json[]][] = [
    ['volume.size', [511, 513, size - 512, size + 1, -size, 2 ** 53, 2 ** 53 - 512, 1.5e3]],
    ['blockSize', [32768, 65535, 65537, 3 * 65536, 2 ** 31, 2 ** 30, 131072, 2 ** 53]],
    ['resumeFrom', [1, 511, 512, size, size + 512, -512, 65536 + 512]],
    ['extents', [header.extents + 1, header.extents - 1, 0, 2 ** 53 - 1]],
    ['dataBytes', [header.dataBytes + 512, header.dataBytes - 512, header.dataBytes + 1, 0, size]],
    ['zeroBytes', [header.zeroBytes + 512, header.zeroBytes - 512, header.zeroBytes + 1, 0, size]],
    ['target.created', ['yesterday', '', '2024-13-45T00:00:00Z', 'x'.repeat(65), '2024-01-01', '2024-05-01T12:00:00Z']],
    ['format', [0, 2, '1', 1.5, 1.0]],
  ]
  for (const [path, values] of numbers) for (const to of values) yield withValue(path, to)
  for (const path of ['extra', '__proto__', 'Format', 'volume.extra', 'target.extra', 'volume.__proto__']) yield withValue(path, 1)

  const text = frames[0].payload.toString('utf8')
  const at = text.indexOf('mydata')
  const raw = (edit: (bytes: Buffer) => Buffer): Buffer => edit(Buffer.from(frames[0].payload))
  yield withText('with 0xff in a name', raw((b) => ((b[at] = 0xff), b)))
  yield withText('with an overlong "/" in a name', raw((b) => Buffer.concat([b.subarray(0, at), Buffer.from([0xc0, 0xaf]), b.subarray(at)])))
  yield withText('with a surrogate in a name', raw((b) => Buffer.concat([b.subarray(0, at), Buffer.from([0xed, 0xa0, 0x80]), b.subarray(at)])))
  yield withText('with a cut multi-byte character', raw((b) => Buffer.concat([b.subarray(0, at), Buffer.from([0xe2, 0x82]), b.subarray(at)])))
  yield withText('with a BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), frames[0].payload]))
  for (const [name, body] of [
    ['empty', ''], ['null', 'null'], ['an array', '[]'], ['a string', '"x"'], ['a number', '1'], ['NaN', 'NaN'],
    ['cut in half', text.slice(0, text.length >> 1)], ['with trailing garbage', `${text}x`], ['two objects', text + text],
    ['with a comment', `/* */${text}`], ['with single quotes', text.replaceAll('"', "'")], ['with a trailing comma', `${text.slice(0, -1)},}`],
    ['deeply nested', '['.repeat(30000) + ']'.repeat(30000)], ['deeply nested object', '{"a":'.repeat(10000) + '1' + '}'.repeat(10000)],
    ['one byte over the limit', text.padEnd(MAX_HEADER_LENGTH + 1)],
    ['with a duplicate extents key', `${text.slice(0, -1)},"extents":${header.extents + 1}}`],
    ['with NaN for resumeFrom', text.replace(/"resumeFrom":\d+/, '"resumeFrom":NaN')],
  ] as const) yield withText(name, body)

  // Still valid: the same header written differently.
  yield withText('padded to its limit (valid)', text.padEnd(MAX_HEADER_LENGTH))
  yield withText('pretty-printed (valid)', JSON.stringify(json, null, 2))
  yield withText('keys reversed (valid)', JSON.stringify(Object.fromEntries(Object.entries(json).reverse())))
  yield withText('with escaped characters (valid)', text.replace('"trunk"', '"\\u0074runk"'))
  yield withText('with other spellings of numbers (valid)', text.replace(/"blockSize":(\d+)/, '"blockSize":$1.0').replace(/"extents":(\d+)/, '"extents":$1e0'))
  yield withText('with -0 for resumeFrom (valid)', text.replace(/"resumeFrom":0\b/, '"resumeFrom":-0'))
}

/** Random damage: bits, bytes (ZFS's two-byte overwrite), cuts, splices, and random values in frame fields. */
function* randomDamage(valid: Buffer, frames: readonly RawFrame[], random: Random, count: number): Generator<HostileStream> {
  for (let n = 0; n < count; n++) {
    const bytes = Buffer.from(valid)
    const at = random.below(bytes.length)
    switch (random.below(7)) {
      case 0: {
        const flips = 1 + random.below(8)
        for (let i = 0; i < flips; i++) bytes[random.below(bytes.length)] ^= 1 << random.below(8)
        yield {name: `random ${n}: ${flips} bits flipped`, bytes}
        break
      }
      case 1:
        bytes[at] = random.next() & 0xff
        bytes[(at + 1) % bytes.length] = random.next() & 0xff
        yield {name: `random ${n}: two bytes at ${at} overwritten`, bytes}
        break
      case 2: {
        const length = 1 + random.below(64)
        yield {name: `random ${n}: ${length} bytes inserted at ${at}`, bytes: Buffer.concat([bytes.subarray(0, at), random.bytes(length), bytes.subarray(at)])}
        break
      }
      case 3: {
        const length = 1 + random.below(64)
        yield {name: `random ${n}: ${length} bytes removed at ${at}`, bytes: Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + length)])}
        break
      }
      case 4: {
        const from = random.below(bytes.length)
        const length = 1 + random.below(256)
        yield {name: `random ${n}: ${length} bytes from ${from} copied to ${at}`, bytes: Buffer.concat([bytes.subarray(0, at), bytes.subarray(from, from + length), bytes.subarray(at)])}
        break
      }
      case 5: {
        const i = random.below(frames.length)
        const value = random.next()
        bytes.writeUInt32BE(value, offsetOfFrame(frames, i) + 1)
        yield {name: `random ${n}: frame ${i} length ${value}`, bytes}
        break
      }
      default: {
        const i = random.below(frames.length)
        const field = random.below(5) * 4
        const value = random.next()
        // A record's fields with its CRC fixed; its CRC word itself set as it comes.
        yield edited(`random ${n}: frame ${i} payload word at ${field} set to ${value}`, frames, (f) => {
          if (f[i].payload.length >= field + 4) f[i].payload.writeUInt32BE(value, field)
          if (field !== recordCrcAt(f[i].kind)) fixRecordCrc(f[i])
        })
      }
    }
  }
}

/**
 * Mutations of `valid` (a stream buildValidStream or the encoder wrote), the same ones
 * for the same seed. Truncation is tried at every offset of a stream up to 64 KiB.
 */
export function* hostileStreams(valid: Buffer, options: {seed: number; count?: number}): Generator<HostileStream> {
  const random = new Random(options.seed)
  const frames = splitFrames(valid)
  const header = JSON.parse(frames[0].payload.toString('utf8')) as StreamHeader
  yield* truncations(valid, random)
  yield* bitFlips(valid, frames, random)
  yield* frameHeads(frames)
  yield* extents(frames, header)
  yield* frameOrder(frames)
  yield* trailers(frames)
  yield* garbageAfterTrailer(valid)
  yield* headers(frames, header)
  yield* randomDamage(valid, frames, random, options.count ?? 1000)
}
