// Writes a block-export stream (format.ts) as buffers to send in order. The data of a
// 'D' record is returned as given, never copied: its checksum is fed the offset field,
// then the data, where it lies. The encoder holds its caller to the header: a
// violation is a bug in the sender, so it throws a plain Error.
import {
  checkHeader, crc32, DATA_CHECKSUM_AT, DATA_PREFIX_LENGTH, dataRecordChecksum, ExtentTally, type ExtentKind, RecordKind, type StreamHeader,
  TRAILER_PAYLOAD_LENGTH, writeU64, ZERO_CRC_AT, ZERO_PAYLOAD_LENGTH, zeroRecordCrc,
} from './format.js'
import {encodeFrameHead, FRAME_HEAD_LENGTH} from './frames.js'

type Phase = 'header' | 'extents' | 'ended'

const phaseText: Record<Phase, string> = {
  header: 'the header is not written yet',
  extents: 'the header is already written',
  ended: 'the trailer is already written',
}

export class StreamEncoder {
  readonly #header: StreamHeader
  readonly #tally: ExtentTally
  #phase: Phase = 'header'
  /** The stream CRC so far (format.ts says which bytes it covers). */
  #crc = 0

  constructor(header: StreamHeader) {
    this.#header = checkHeader(header, (problem) => {
      throw new Error(`invalid stream header: ${problem}`)
    })
    this.#tally = new ExtentTally(this.#header)
  }

  /** The 'H' frame; first. */
  header(): Buffer[] {
    this.#expect('header', 'the header')
    const json = Buffer.from(JSON.stringify(this.#header), 'utf8')
    const frame = Buffer.concat([encodeFrameHead(RecordKind.header, json.length), json])
    this.#crc = crc32(frame)
    this.#phase = 'extents'
    return [frame]
  }

  /** A 'D' frame: its head and prefix (offset, checksum), then `data` itself. */
  data(offset: number, data: Buffer): Buffer[] {
    this.#extent('data', offset, data.length)
    const head = Buffer.allocUnsafe(FRAME_HEAD_LENGTH + DATA_PREFIX_LENGTH)
    head[0] = RecordKind.data
    head.writeUInt32BE(DATA_PREFIX_LENGTH + data.length, 1)
    writeU64(head, FRAME_HEAD_LENGTH, offset)
    dataRecordChecksum(head.subarray(FRAME_HEAD_LENGTH, FRAME_HEAD_LENGTH + DATA_CHECKSUM_AT), data).copy(head, FRAME_HEAD_LENGTH + DATA_CHECKSUM_AT)
    this.#crc = crc32(head, this.#crc)
    return [head, data]
  }

  /** A 'Z' frame: `length` bytes from `offset` read as zeros. */
  zero(offset: number, length: number): Buffer[] {
    this.#extent('zero', offset, length)
    const frame = Buffer.allocUnsafe(FRAME_HEAD_LENGTH + ZERO_PAYLOAD_LENGTH)
    frame[0] = RecordKind.zero
    frame.writeUInt32BE(ZERO_PAYLOAD_LENGTH, 1)
    writeU64(frame, FRAME_HEAD_LENGTH, offset)
    writeU64(frame, FRAME_HEAD_LENGTH + 8, length)
    frame.writeUInt32BE(zeroRecordCrc(frame.subarray(FRAME_HEAD_LENGTH)), FRAME_HEAD_LENGTH + ZERO_CRC_AT)
    this.#crc = crc32(frame, this.#crc)
    return [frame]
  }

  /** The 'T' frame; last, once every extent the header announced has been given. */
  trailer(): Buffer[] {
    this.#expect('extents', 'the trailer')
    const counts = this.#tally.counts
    const problem = this.#tally.endProblem(counts)
    if (problem) throw new Error(`cannot end the stream: ${problem}`)
    const frame = Buffer.allocUnsafe(FRAME_HEAD_LENGTH + TRAILER_PAYLOAD_LENGTH)
    frame[0] = RecordKind.trailer
    frame.writeUInt32BE(TRAILER_PAYLOAD_LENGTH, 1)
    writeU64(frame, FRAME_HEAD_LENGTH, counts.extents)
    writeU64(frame, FRAME_HEAD_LENGTH + 8, counts.dataBytes)
    writeU64(frame, FRAME_HEAD_LENGTH + 16, counts.zeroBytes)
    frame.writeUInt32BE(this.#crc, FRAME_HEAD_LENGTH + 24)
    this.#phase = 'ended'
    return [frame]
  }

  #expect(phase: Phase, what: string): void {
    if (this.#phase !== phase) throw new Error(`cannot write ${what}: ${phaseText[this.#phase]}`)
  }

  #extent(kind: ExtentKind, offset: number, length: number): void {
    this.#expect('extents', `a ${kind} extent`)
    const problem = this.#tally.add(kind, offset, length)
    if (problem) throw new Error(`${kind} extent at byte ${offset} (${length} bytes): ${problem}`)
  }
}
