// Reads a block-export stream (format.ts) from untrusted input. Everything a record
// says is checked before the record is returned, so a receiver allocates and writes
// only what the header announced and the checks allowed: frame kinds in order, lengths
// before payloads are read, then each extent record's own CRC before its offset or
// length is used for anything, then the extent against the header, counts as they
// grow, and at the end the trailer against the header and the stream CRC. A record
// returned has passed its own CRC and every rule, so a receiver may commit it at once.
//
// A refusal is FvmError('corrupt') with one line naming what and where (stream byte
// offset); input that simply stops is StreamTruncated, which a receiver may resume.
import {FvmError} from '../../errors.js'
import {
  checkHeader, crc32, DATA_CHECKSUM_AT, DATA_PREFIX_LENGTH, dataRecordChecksum, ExtentTally, type ExtentKind, hex32, MAX_DATA, MAX_HEADER_LENGTH,
  readU64, RecordKind, type StreamCounts, type StreamHeader, TRAILER_PAYLOAD_LENGTH, ZERO_CRC_AT, ZERO_PAYLOAD_LENGTH, zeroRecordCrc,
} from './format.js'
import {type Frame, FRAME_HEAD_LENGTH, FrameReader, parseJsonPayload, StreamTruncated} from './frames.js'

export interface DataRecord {
  kind: 'data'
  /** Bytes into the volume. */
  offset: number
  /** Checked, with the offset, against the record's CRC; may be a view of the input. */
  data: Buffer
}

export interface ZeroRecord {
  kind: 'zero'
  offset: number
  length: number
}

/** The trailer arrived and matched everything: the stream is complete. */
export interface StreamEnd {
  kind: 'end'
  counts: StreamCounts
}

/** What this receiver will take, beyond what the format allows. */
export interface DecoderLimits {
  /** Refuse (noSpace) a volume larger than this many bytes. */
  maxVolumeSize?: number
}

function headerLimits(kind: number): number {
  return kind === RecordKind.header ? MAX_HEADER_LENGTH : 0
}

function recordLimits(kind: number): number {
  switch (kind) {
    case RecordKind.data: return DATA_PREFIX_LENGTH + MAX_DATA
    case RecordKind.zero: return ZERO_PAYLOAD_LENGTH
    case RecordKind.trailer: return TRAILER_PAYLOAD_LENGTH
    default: return 0
  }
}

function corrupt(message: string): FvmError {
  return new FvmError('corrupt', message)
}

export class StreamDecoder {
  readonly #frames: FrameReader
  readonly #limits: DecoderLimits
  #tally?: ExtentTally
  #ended = false
  /** The stream CRC so far (format.ts says which bytes it covers). */
  #crc = 0
  /** A frame head rebuilt for the stream CRC: the reader hands back payloads only. */
  readonly #head = Buffer.alloc(FRAME_HEAD_LENGTH)

  /** Reads from `frames`, which is left positioned after the trailer for whatever follows the stream. */
  constructor(frames: FrameReader, limits: DecoderLimits = {}) {
    this.#frames = frames
    this.#limits = limits
  }

  /** The header, checked; first. */
  async header(): Promise<StreamHeader> {
    if (this.#tally) throw new Error('the stream header was already read')
    const frame = await this.#frames.next(headerLimits)
    if (!frame) throw new StreamTruncated(`stream truncated at byte ${this.#frames.bytesRead}: no header`)
    const where = `header at stream byte ${frame.at}`
    const header = checkHeader(parseJsonPayload(frame.payload, where), (problem) => {
      throw corrupt(`${where}: ${problem}`)
    })
    const {maxVolumeSize} = this.#limits
    if (maxVolumeSize !== undefined && header.volume.size > maxVolumeSize) {
      throw new FvmError('noSpace', `${where}: volume size ${header.volume.size} is above this receiver's limit of ${maxVolumeSize}`)
    }
    this.#chain(frame, frame.payload)
    this.#tally = new ExtentTally(header)
    return header
  }

  /** The next extent, checked; or, once the trailer has matched, the end. */
  async next(): Promise<DataRecord | ZeroRecord | StreamEnd> {
    const tally = this.#tally
    if (!tally) throw new Error('read the stream header first')
    if (this.#ended) throw new Error('the stream has already ended')
    const frame = await this.#frames.next(recordLimits)
    if (!frame) {
      const {extents} = tally.counts
      throw new StreamTruncated(`stream truncated at byte ${this.#frames.bytesRead}: ended after ${extents} of ${tally.header.extents} extents, with no trailer`)
    }
    switch (frame.kind) {
      case RecordKind.data: return this.#data(frame, tally)
      case RecordKind.zero: return this.#zero(frame, tally)
      default: return this.#trailer(frame, tally)
    }
  }

  /** The extents, checked, until the trailer has matched. */
  async *[Symbol.asyncIterator](): AsyncGenerator<DataRecord | ZeroRecord, StreamCounts> {
    for (;;) {
      const record = await this.next()
      if (record.kind === 'end') return record.counts
      yield record
    }
  }

  #data(frame: Frame, tally: ExtentTally): DataRecord {
    const {payload} = frame
    if (payload.length < DATA_PREFIX_LENGTH) throw corrupt(`data record at stream byte ${frame.at}: ${payload.length} bytes, shorter than its ${DATA_PREFIX_LENGTH}-byte prefix`)
    const data = payload.subarray(DATA_PREFIX_LENGTH)
    this.#verify(frame, 'data', payload.subarray(DATA_CHECKSUM_AT, DATA_PREFIX_LENGTH), dataRecordChecksum(payload.subarray(0, DATA_CHECKSUM_AT), data))
    const offset = this.#offset(frame, 'data')
    this.#add(frame, tally, 'data', offset, data.length)
    this.#chain(frame, payload.subarray(0, DATA_PREFIX_LENGTH))
    return {kind: 'data', offset, data}
  }

  #zero(frame: Frame, tally: ExtentTally): ZeroRecord {
    const {payload} = frame
    if (payload.length !== ZERO_PAYLOAD_LENGTH) throw corrupt(`zero record at stream byte ${frame.at}: ${payload.length} bytes, not ${ZERO_PAYLOAD_LENGTH}`)
    this.#verify(frame, 'zero', payload.subarray(ZERO_CRC_AT, ZERO_PAYLOAD_LENGTH), u32(zeroRecordCrc(payload)))
    const offset = this.#offset(frame, 'zero')
    const length = readU64(payload, 8)
    if (length === undefined) throw corrupt(`zero extent at volume byte ${offset} (stream byte ${frame.at}): length of 2^53 or more`)
    this.#add(frame, tally, 'zero', offset, length)
    this.#chain(frame, payload)
    return {kind: 'zero', offset, length}
  }

  #trailer(frame: Frame, tally: ExtentTally): StreamEnd {
    const {payload} = frame
    const where = `trailer at stream byte ${frame.at}`
    if (payload.length !== TRAILER_PAYLOAD_LENGTH) throw corrupt(`${where}: ${payload.length} bytes, not ${TRAILER_PAYLOAD_LENGTH}`)
    const [extents, dataBytes, zeroBytes] = [0, 8, 16].map((at) => readU64(payload, at))
    if (extents === undefined || dataBytes === undefined || zeroBytes === undefined) throw corrupt(`${where}: a count of 2^53 or more`)
    const problem = tally.endProblem({extents, dataBytes, zeroBytes})
    if (problem) throw corrupt(`${where}: ${problem}`)
    const recorded = payload.readUInt32BE(24)
    if (recorded !== this.#crc) throw corrupt(`${where}: stream checksum mismatch (recorded ${hex32(recorded)}, computed ${hex32(this.#crc)})`)
    this.#ended = true
    return {kind: 'end', counts: tally.counts}
  }

  /**
   * Refuses a record whose own checksum does not match, before its offset or length is
   * trusted for anything: the message names only where the record is in the stream.
   */
  #verify(frame: Frame, kind: ExtentKind, recorded: Buffer, computed: Buffer): void {
    if (!recorded.equals(computed)) {
      throw corrupt(`${kind} record at stream byte ${frame.at}: checksum mismatch (recorded ${hexBytes(recorded)}, computed ${hexBytes(computed)})`)
    }
  }

  #offset(frame: Frame, kind: ExtentKind): number {
    const offset = readU64(frame.payload, 0)
    if (offset === undefined) throw corrupt(`${kind} record at stream byte ${frame.at}: offset of 2^53 or more`)
    return offset
  }

  #add(frame: Frame, tally: ExtentTally, kind: ExtentKind, offset: number, length: number): void {
    const problem = tally.add(kind, offset, length)
    if (problem) throw corrupt(`${kind} extent at volume byte ${offset} (stream byte ${frame.at}): ${problem}`)
  }

  /** Adds a frame's head and `covered` (its payload, or a D frame's prefix) to the stream CRC. */
  #chain(frame: Frame, covered: Buffer): void {
    this.#head[0] = frame.kind
    this.#head.writeUInt32BE(frame.payload.length, 1)
    this.#crc = crc32(covered, crc32(this.#head, this.#crc))
  }
}

/** A u32 as 4 bytes, big-endian, as a record stores it. */
function u32(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(4)
  bytes.writeUInt32BE(value)
  return bytes
}

/** Bytes as a checksum is shown: 0x and their hex digits. */
function hexBytes(bytes: Buffer): string {
  return `0x${bytes.toString('hex')}`
}
