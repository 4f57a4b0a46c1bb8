import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {PassThrough, Readable} from 'node:stream'
import {FvmError} from '../../src/errors.js'
import {StreamDecoder} from '../../src/plumbing/stream/decoder.js'
import {StreamEncoder} from '../../src/plumbing/stream/encoder.js'
import {
  crc32, MAX_DATA, MAX_HEADER_LENGTH, RecordKind, splitDataExtent, type StreamHeader, ZERO_PAYLOAD_LENGTH,
} from '../../src/plumbing/stream/format.js'
import {
  encodeFrameHead, encodeJsonFrame, FrameReader, parseJsonPayload, StreamTruncated,
} from '../../src/plumbing/stream/frames.js'
import {
  assembleStream, buildValidStream, chunked, decodeStream, encodeStream, type ExtentSpec, Random, type RawFrame, rawFrames,
  streamHeader, uuids,
} from '../support/hostile-streams.js'
import {needTools} from '../support/tools.js'

const MiB = 1024 * 1024

/** The error `promise` rejects with; fails when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  expect.fail('expected a rejection')
}

/** Expects decoding `input` to be refused as corrupt with a one-line message matching `why`. */
async function refused(input: Buffer, why: RegExp): Promise<FvmError> {
  const error = await rejection(decodeStream(input))
  expect(error).to.be.instanceOf(FvmError)
  const e = error as FvmError
  expect(e.kind, e.message).to.equal('corrupt')
  expect(e.message).to.match(why).and.not.match(/\n/)
  return e
}

async function* inOrder(chunks: readonly Buffer[]): AsyncGenerator<Buffer> {
  yield* chunks
}

/** Throws at once when pulled: an input past which nothing may be read. */
async function* thenFail(...chunks: Buffer[]): AsyncGenerator<Buffer> {
  yield* chunks
  throw new Error('read past what was needed')
}

const header = streamHeader()
const zeros = (offset: number, length: number): ExtentSpec => ({offset, zeros: length})
const data = (offset: number, length: number, fill = 0xa5): ExtentSpec => ({offset, data: Buffer.alloc(length, fill)})

describe('stream format', () => {
  describe('round trips', () => {
    async function roundTrip(spec: Parameters<typeof buildValidStream>[0]): Promise<void> {
      const bytes = buildValidStream(spec)
      const expected = streamHeader(spec)
      for (const size of bytes.length < 65536 ? [bytes.length, 1, 7, 4096] : [bytes.length, 4096]) {
        const decoded = await decodeStream(chunked(bytes, size))
        expect(decoded.header).to.deep.equal(expected)
        expect(decoded.counts).to.deep.equal({extents: expected.extents, dataBytes: expected.dataBytes, zeroBytes: expected.zeroBytes})
        expect(encodeStream(decoded.header, decoded.records).equals(bytes)).to.equal(true)
      }
    }

    it('a full stream', () => roundTrip({}))

    it('a delta with zero extents', () => roundTrip({
      header: {base: uuids.base, target: {uuid: uuids.target, parent: uuids.base, created: '2024-05-02T08:30:00.000Z'}},
      extents: [zeros(0, 512), data(512, 4096), zeros(8192, 65536), zeros(MiB - 4096, 4096)],
    }))

    it('a resumed stream', () => roundTrip({header: {resumeFrom: 65536}, extents: [data(65536, 512), zeros(MiB - 512, 512)]}))

    it('a stream with no extents (nothing changed)', () => roundTrip({header: {base: uuids.base}, extents: []}))

    it('the largest data record, ending the volume', () => roundTrip({
      header: {volume: {uuid: uuids.volume, name: 'big', size: 3 * MAX_DATA}},
      extents: [data(MAX_DATA, MAX_DATA), data(2 * MAX_DATA, MAX_DATA, 0x11)],
    }))

    it('records come back in order with their data, also through the async iterator', async () => {
      const decoder = new StreamDecoder(new FrameReader(chunked(buildValidStream(), 5)))
      await decoder.header()
      const seen: string[] = []
      for await (const record of decoder) seen.push(record.kind === 'data' ? `D ${record.offset} ${record.data.length}` : `Z ${record.offset} ${record.length}`)
      expect(seen).to.deep.equal(['Z 0 65536', 'D 65536 1024', 'Z 131072 65536', `D ${MiB - 512} 512`])
    })

    it('leaves the frame reader just after the trailer, for what the protocol sends next', async () => {
      const message = encodeJsonFrame(0x4d, {type: 'done'})
      const frames = new FrameReader(chunked(Buffer.concat([buildValidStream(), message]), 3))
      const decoder = new StreamDecoder(frames)
      await decoder.header()
      while ((await decoder.next()).kind !== 'end');
      const next = await frames.next((kind) => (kind === 0x4d ? 1024 : 0))
      expect(parseJsonPayload(next!.payload, 'message')).to.deep.equal({type: 'done'})
      expect(await frames.next(() => 0)).to.equal(null)
    })
  })

  describe('header checks', () => {
    const cases: [string, (h: {[key: string]: any}) => void, RegExp][] = [
      ['a newer format', (h) => void (h.format = 3), /unsupported format 3 \(this fvm reads format 2\)/],
      ['no format', (h) => void delete h.format, /missing field "format"/],
      ['an unknown field', (h) => void (h.compression = 'zstd'), /unknown field "compression"/],
      ['an unknown volume field', (h) => void (h.volume.extra = 1), /unknown field "volume.extra"/],
      ['a missing field', (h) => void delete h.target.created, /missing field "target.created"/],
      ['a path for a volume name', (h) => void (h.volume.name = '../x'), /volume.name "..\/x" must not contain "\/"/],
      ['a 300-character branch', (h) => void (h.branch = 'b'.repeat(300)), /branch "b+\.\.\. must be at most 128 characters \(got 300\)/],
      ['an instance name that is not a string', (h) => void (h.instance = 5), /instance must be a name \(got 5\)/],
      ['an uppercase uuid', (h) => void (h.volume.uuid = uuids.volume.toUpperCase()), /volume.uuid must be a lowercase uuid \(got "0B8D/],
      ['a bad base', (h) => void (h.base = 'none'), /base must be a lowercase uuid or null \(got "none"\)/],
      ['a base that is the target', (h) => void (h.base = uuids.target), /base and target.uuid are the same snapshot/],
      ['a parent that is the target', (h) => void (h.target.parent = uuids.target), /target.parent and target.uuid are the same snapshot/],
      ['an unaligned size', (h) => void (h.volume.size = 1000), /volume.size must be a positive multiple of 512 \(got 1000\)/],
      ['a zero size', (h) => void (h.volume.size = 0), /volume.size must be a positive multiple of 512 \(got 0\)/],
      ['an unsafe size', (h) => void (h.volume.size = 2 ** 60), /volume.size must be a positive multiple of 512/],
      ['a block size below 64 KiB', (h) => void (h.blockSize = 32768), /blockSize must be a power of two from 65536 to 1073741824 \(got 32768\)/],
      ['a block size not a power of two', (h) => void (h.blockSize = 3 * 65536), /blockSize must be a power of two/],
      ['a block size above 1 GiB', (h) => void (h.blockSize = 2 ** 31), /blockSize must be a power of two/],
      ['a creation time that is no date', (h) => void (h.target.created = 'yesterday'), /target.created must be an ISO 8601 time \(got "yesterday"\)/],
      ['a date with no time', (h) => void (h.target.created = '2024-05-01'), /target.created must be an ISO 8601 time/],
      ['a 13th month', (h) => void (h.target.created = '2024-13-01T00:00:00Z'), /target.created must be an ISO 8601 time/],
      ['an unaligned resume offset', (h) => void (h.resumeFrom = 100), /resumeFrom must be a multiple of 512 from 0 to volume.size 1048576 \(got 100\)/],
      ['a resume offset past the end', (h) => void (h.resumeFrom = MiB + 512), /resumeFrom must be a multiple of 512/],
      ['a negative count', (h) => void (h.extents = -1), /extents must be a non-negative integer \(got -1\)/],
      ['a fractional count', (h) => void (h.extents = 1.5), /extents must be a non-negative integer \(got 1.5\)/],
      ['unaligned data bytes', (h) => void (h.dataBytes = 100), /dataBytes must be a non-negative multiple of 512 \(got 100\)/],
      ['more bytes than the volume', (h) => void (h.zeroBytes = MiB), /dataBytes \+ zeroBytes \(\d+\) exceed the 1048576 bytes from resumeFrom/],
      ['bytes and no extents', (h) => void (h.extents = 0), /0 extents cannot carry dataBytes \+ zeroBytes \(132608\)/],
      ['extents too small for their count', (h) => Object.assign(h, {extents: 3, dataBytes: 512, zeroBytes: 512}), /3 extents cannot carry dataBytes \+ zeroBytes \(1024\)/],
    ]
    for (const [what, edit, why] of cases) {
      it(`refuses ${what}, in the decoder and the encoder alike`, async () => {
        const value = structuredClone(header) as unknown as {[key: string]: unknown}
        edit(value)
        const e = await refused(assembleStream([rawFrames.header(value)]), why)
        expect(e.message).to.match(/^header at stream byte 0: /)
        expect(() => new StreamEncoder(value as unknown as StreamHeader)).to.throw(Error, `invalid stream header: ${e.message.replace(/^header at stream byte 0: /, '')}`)
      })
    }

    const text = (payload: Buffer | string): Buffer => assembleStream([{kind: RecordKind.header, payload: Buffer.from(payload)}])
    it('refuses a header that is not UTF-8, not JSON, or not an object', async () => {
      await refused(text(Buffer.from([0x7b, 0xff, 0x7d])), /^header at stream byte 0: not valid UTF-8$/)
      await refused(text(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(header))])), /not valid JSON$/)
      await refused(text('{"format":1,'), /^header at stream byte 0: not valid JSON$/)
      await refused(text('[1]'), /^header at stream byte 0: not a JSON object$/)
    })

    it('refuses an oversized header from its frame head, before reading it', async () => {
      const error = await rejection(new StreamDecoder(new FrameReader(thenFail(encodeFrameHead(RecordKind.header, MAX_HEADER_LENGTH + 1)))).header())
      expect(error).to.be.instanceOf(FvmError).and.not.be.instanceOf(StreamTruncated)
      expect(error.message).to.equal(`frame 'H' at stream byte 0: length ${MAX_HEADER_LENGTH + 1} is above its limit of ${MAX_HEADER_LENGTH}`)
    })

    it('refuses a stream that does not start with its header', async () => {
      await refused(assembleStream([rawFrames.zero(0, 512)]), /^frame at stream byte 0: kind 'Z' is not allowed here$/)
    })

    it('refuses a volume above the receiver\'s limit as out of space', async () => {
      const error = await rejection(decodeStream(buildValidStream(), {maxVolumeSize: MiB - 512}))
      expect(error).to.be.instanceOf(FvmError).and.have.property('kind', 'noSpace')
      expect(error.message).to.equal(`header at stream byte 0: volume size ${MiB} is above this receiver's limit of ${MiB - 512}`)
      expect((await decodeStream(buildValidStream(), {maxVolumeSize: MiB})).header.volume.size).to.equal(MiB)
    })
  })

  describe('record checks', () => {
    /** A stream of `frames` after a header announcing what `announced` carries. */
    function stream(announced: ExtentSpec[], frames: RawFrame[], spec: Parameters<typeof streamHeader>[0] = {}): Buffer {
      return assembleStream([rawFrames.header(streamHeader({...spec, extents: announced})), ...frames])
    }
    const z = (offset: number | bigint, length: number | bigint) => rawFrames.zero(offset, length)
    const d = (offset: number | bigint, length: number) => rawFrames.data(offset, Buffer.alloc(length, 0xa5))
    const end = (extents: number, dataBytes: number, zeroBytes: number) => rawFrames.trailer({extents, dataBytes, zeroBytes})
    const one = [zeros(0, 512)]

    it('offsets and lengths must be sector multiples', async () => {
      await refused(stream(one, [z(513, 512)]), /^zero extent at volume byte 513 \(stream byte \d+\): offset not a multiple of 512$/)
      await refused(stream(one, [z(0, 100)]), /^zero extent at volume byte 0 \(stream byte \d+\): length not a positive multiple of 512$/)
      await refused(stream(one, [z(0, 0)]), /length not a positive multiple of 512$/)
      await refused(stream([data(0, 512)], [d(0, 100)]), /^data extent at volume byte 0 \(stream byte \d+\): length not a positive multiple of 512$/)
      await refused(stream([data(0, 512)], [d(0, 0)]), /length not a positive multiple of 512$/)
    })

    it('a data record has its prefix', async () => {
      await refused(stream([data(0, 512)], [{kind: RecordKind.data, payload: Buffer.alloc(5)}]), /^data record at stream byte \d+: 5 bytes, shorter than its 16-byte prefix$/)
    })

    it('a zero record has exactly its three fields', async () => {
      expect(ZERO_PAYLOAD_LENGTH).to.equal(20)
      await refused(stream(one, [{kind: RecordKind.zero, payload: Buffer.alloc(15)}]), /^zero record at stream byte \d+: 15 bytes, not 20$/)
      // A zero record as it was before it had a crc.
      await refused(stream(one, [{kind: RecordKind.zero, payload: z(0, 512).payload.subarray(0, 16)}]), /^zero record at stream byte \d+: 16 bytes, not 20$/)
    })

    it('extents stay inside the volume', async () => {
      await refused(stream(one, [z(MiB - 512, 1024)]), /^zero extent at volume byte 1048064 \(stream byte \d+\): ends at byte 1049088, past the end of the 1048576-byte volume$/)
      await refused(stream([data(0, 512)], [d(MiB, 512)]), /ends at byte 1049088, past the end/)
      await refused(stream(one, [z(2n ** 53n, 512)]), /^zero record at stream byte \d+: offset of 2\^53 or more$/)
      await refused(stream(one, [z(0, 2n ** 64n - 1n)]), /^zero extent at volume byte 0 \(stream byte \d+\): length of 2\^53 or more$/)
      await refused(stream(one, [z(0, 2 ** 53 - 512)]), /past the end of the 1048576-byte volume/)
    })

    it('extents start at or after the resume offset', async () => {
      await refused(stream([zeros(65536, 512)], [z(0, 512)], {header: {resumeFrom: 65536}}), /^zero extent at volume byte 0 \(stream byte \d+\): starts before resumeFrom 65536$/)
    })

    it('extents ascend and do not overlap', async () => {
      const two = [zeros(0, 1024), zeros(4096, 512)]
      await refused(stream(two, [z(4096, 512), z(0, 1024)]), /^zero extent at volume byte 0 \(stream byte \d+\): overlaps or precedes the previous extent, which ends at byte 4608$/)
      await refused(stream(two, [z(0, 1024), z(512, 512)]), /overlaps or precedes the previous extent, which ends at byte 1024$/)
      await refused(stream(two, [z(0, 1024), z(0, 1024)]), /overlaps or precedes/)
      const touching = stream([zeros(0, 1024), zeros(1024, 512)], [z(0, 1024), z(1024, 512), end(2, 0, 1536)])
      expect((await decodeStream(touching)).records).to.have.length(2)
    })

    it('each data record matches its checksum', async () => {
      const frame = rawFrames.data(65536, Buffer.alloc(512, 1), 0x123456789abcdef0n)
      await refused(stream([data(65536, 512)], [frame]), /^data record at stream byte \d+: checksum mismatch \(recorded 0x123456789abcdef0, computed 0x[0-9a-f]{16}\)$/)
      const zero = rawFrames.zero(65536, 512, 0x12345678)
      await refused(stream([zeros(65536, 512)], [zero]), /^zero record at stream byte \d+: checksum mismatch \(recorded 0x12345678, computed 0x[0-9a-f]{8}\)$/)
    })

    it('a data record\'s checksum is XXH64 of its offset and data (as xxhsum has it), a zero record\'s CRC-32 of its offset and length', function () {
      needTools(this, 'xxhsum')
      const block = new Random(4).bytes(1024)
      const d1 = rawFrames.data(65536, block)
      const offsetField = d1.payload.subarray(0, 8)
      const xxhsum = spawnSync('xxhsum', ['-H1', '-'], {input: Buffer.concat([offsetField, block]), encoding: 'utf8'})
      expect(xxhsum.status, xxhsum.stderr).to.equal(0)
      expect(d1.payload.subarray(8, 16).toString('hex')).to.equal(xxhsum.stdout.split(/\s/)[0])
      expect(rawFrames.data(65536 + 512, block).payload.subarray(8, 16)).not.to.deep.equal(d1.payload.subarray(8, 16))
      const z1 = rawFrames.zero(65536, 512)
      expect(z1.payload.readUInt32BE(16)).to.equal(crc32(z1.payload.subarray(0, 16)))
      // What the encoder writes is what these frames hold.
      const encoder = new StreamEncoder(streamHeader({extents: [zeros(65536, 512), {offset: 131072, data: block}]}))
      encoder.header()
      expect(Buffer.concat(encoder.zero(65536, 512)).subarray(5)).to.deep.equal(z1.payload)
      const [head] = encoder.data(131072, block)
      expect(head.subarray(5)).to.deep.equal(rawFrames.data(131072, block).payload.subarray(0, 16))
    })

    it('a damaged offset or length is a checksum mismatch at once, whatever it now says, with no trailer needed', async () => {
      // No trailer follows: a check left for the trailer would report truncation instead.
      const digits = (kind: string): number => (kind === 'data' ? 16 : 8)
      const checksum = (kind: string, at: number): RegExp =>
        new RegExp(`^${kind} record at stream byte ${at}: checksum mismatch \\(recorded 0x[0-9a-f]{${digits(kind)}}, computed 0x[0-9a-f]{${digits(kind)}}\\)$`)
      const announced = [zeros(0, 512), data(65536, 512)]
      const frames = [z(0, 512), d(65536, 512)]
      const headerLength = 5 + rawFrames.header(streamHeader({extents: announced})).payload.length
      const damaged = (frame: number, at: number, bit: number): Buffer => {
        const copy = frames.map((f) => ({kind: f.kind, payload: Buffer.from(f.payload)}))
        copy[frame].payload[at] ^= 1 << bit
        return stream(announced, copy)
      }
      for (const [at, bit] of [[0, 7], [1, 5], [5, 1], [6, 0], [7, 0]]) {
        // Offsets past 2^53, past the volume, unaligned, or another valid place: all one check.
        await refused(damaged(0, at, bit), checksum('zero', headerLength))
        await refused(damaged(0, 8 + at, bit), checksum('zero', headerLength))
        await refused(damaged(1, at, bit), checksum('data', headerLength + 25))
      }
      // The frame length limits still come first.
      const tooLong = stream(announced, [{kind: RecordKind.zero, payload: Buffer.alloc(21)}])
      await refused(tooLong, /^frame 'Z' at stream byte \d+: length 21 is above its limit of 20$/)
    })

    it('refuses more than the header announced at once, not at the trailer', async () => {
      // No trailer follows: a check left for the trailer would report truncation instead.
      await refused(stream(one, [z(0, 512), z(1024, 512)]), /^zero extent at volume byte 1024 \(stream byte \d+\): one extent more than the 1 the header announced$/)
      await refused(stream([data(0, 512), zeros(4096, 512)], [d(0, 1024)]), /^data extent at volume byte 0 \(stream byte \d+\): dataBytes would reach 1024, above the 512 the header announced$/)
      await refused(stream([zeros(0, 512), data(4096, 512)], [z(0, 1024)]), /zeroBytes would reach 1024, above the 512 the header announced$/)
    })

    it('refuses an oversized data record from its frame head, before reading it', async () => {
      const valid = buildValidStream()
      const headerFrame = valid.subarray(0, 5 + valid.readUInt32BE(1))
      const frames = new FrameReader(thenFail(headerFrame, encodeFrameHead(RecordKind.data, 16 + MAX_DATA + 1)))
      const decoder = new StreamDecoder(frames)
      await decoder.header()
      const error = await rejection(decoder.next())
      expect(error.message).to.match(/^frame 'D' at stream byte \d+: length 4194321 is above its limit of 4194320$/)
    })

    it('refuses a second header and frames of other kinds among the records', async () => {
      await refused(stream(one, [rawFrames.header(header)]), /^frame at stream byte \d+: kind 'H' is not allowed here$/)
      await refused(stream(one, [{kind: 0x4d, payload: Buffer.from('{}')}]), /kind 'M' is not allowed here$/)
      await refused(stream(one, [{kind: 0x00, payload: Buffer.alloc(0)}]), /kind 0x00 is not allowed here$/)
    })

    it('the trailer matches the header and what was received', async () => {
      const two = [zeros(0, 512), data(4096, 512)]
      await refused(stream(two, [z(0, 512), end(1, 0, 512)]), /^trailer at stream byte \d+: the stream ends with extents 1, the header announced 2$/)
      await refused(stream(two, [z(0, 512), d(4096, 512), end(2, 1024, 512)]), /^trailer at stream byte \d+: the trailer says dataBytes 1024, the header announced 512$/)
      await refused(stream(two, [z(0, 512), d(4096, 512), rawFrames.trailer({extents: 2n ** 63n, dataBytes: 512, zeroBytes: 512})]), /^trailer at stream byte \d+: a count of 2\^53 or more$/)
      await refused(stream(two, [z(0, 512), d(4096, 512), {kind: RecordKind.trailer, payload: Buffer.alloc(27)}]), /^trailer at stream byte \d+: 27 bytes, not 28$/)
    })

    it('the stream checksum covers frame heads, record fields and the header', async () => {
      const valid = buildValidStream()
      const checksum = /^trailer at stream byte \d+: stream checksum mismatch \(recorded 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)$/
      const crcAt = valid.length - 4
      const wrongCrc = Buffer.from(valid)
      wrongCrc.writeUInt32BE((valid.readUInt32BE(crcAt) ^ 1) >>> 0, crcAt)
      await refused(wrongCrc, checksum)
      // The second Z record replaced by one for another valid place, with its own crc: only the stream checksum can tell.
      const zeroFrame = Buffer.concat([encodeFrameHead(RecordKind.zero, 20), Buffer.from([0, 0, 0, 0, 0, 2, 0, 0])])
      const at = valid.indexOf(zeroFrame)
      const moved = Buffer.from(valid)
      rawFrames.zero(131072 + 512, 65536).payload.copy(moved, at + 5)
      await refused(moved, checksum)
      // The header's creation time changed to another valid one.
      const retimed = Buffer.from(valid.toString('latin1').replace('12:00:00.000Z', '13:00:00.000Z'), 'latin1')
      await refused(retimed, checksum)
    })

    it('an input that stops is truncation, which a receiver may resume', async () => {
      const valid = buildValidStream()
      for (const [cut, why] of [
        [0, /^stream truncated at byte 0: no header$/],
        [3, /^stream truncated at byte 3: ended inside the head of the frame at byte 0$/],
        [100, /^stream truncated at byte 100: frame 'H' at byte 0 has 95 of its \d+ payload bytes$/],
        [valid.length - 33, /^stream truncated at byte \d+: ended after 4 of 4 extents, with no trailer$/],
        [valid.length - 1, /^stream truncated at byte \d+: frame 'T' at byte \d+ has 27 of its 28 payload bytes$/],
      ] as const) {
        const error = await refused(valid.subarray(0, cut), why)
        expect(error).to.be.instanceOf(StreamTruncated).and.have.property('truncated', true)
      }
    })

    it('a refusal is not truncation', async () => {
      expect(await refused(stream(one, [z(1, 512)]), /offset not a multiple/)).not.to.be.instanceOf(StreamTruncated)
    })

    it('the decoder is used in order', async () => {
      const decoder = new StreamDecoder(new FrameReader(chunked(buildValidStream(), 64)))
      expect((await rejection(decoder.next())).message).to.equal('read the stream header first')
      await decoder.header()
      expect((await rejection(decoder.header())).message).to.equal('the stream header was already read')
      while ((await decoder.next()).kind !== 'end');
      expect((await rejection(decoder.next())).message).to.equal('the stream has already ended')
    })
  })

  describe('encoder', () => {
    const started = (): StreamEncoder => {
      const encoder = new StreamEncoder(streamHeader({extents: [zeros(0, 512), data(4096, 512)]}))
      encoder.header()
      return encoder
    }

    it('returns the data given, not a copy', () => {
      const encoder = started()
      const zero = encoder.zero(0, 512)
      expect(zero.map((b) => b.length)).to.deep.equal([25])
      const block = Buffer.alloc(512, 7)
      const [head, body] = encoder.data(4096, block)
      expect(head.length).to.equal(21)
      expect(body).to.equal(block)
    })

    it('throws when its caller breaks the header', () => {
      const encoder = new StreamEncoder(streamHeader({extents: [zeros(0, 512), data(4096, 512)]}))
      expect(() => encoder.zero(0, 512)).to.throw('cannot write a zero extent: the header is not written yet')
      expect(() => encoder.trailer()).to.throw('cannot write the trailer: the header is not written yet')
      encoder.header()
      expect(() => encoder.header()).to.throw('cannot write the header: the header is already written')
      expect(() => encoder.trailer()).to.throw('cannot end the stream: the stream ends with extents 0, the header announced 2')
      expect(() => encoder.data(4096, Buffer.alloc(100))).to.throw('data extent at byte 4096 (100 bytes): length not a positive multiple of 512')
      expect(() => encoder.data(4096, Buffer.alloc(1024))).to.throw('dataBytes would reach 1024, above the 512 the header announced')
      expect(() => encoder.zero(-512, 512)).to.throw('offset not a multiple of 512')
      expect(() => encoder.zero(MiB, 512)).to.throw('past the end of the 1048576-byte volume')
      encoder.zero(8192, 512)
      expect(() => encoder.data(4096, Buffer.alloc(512))).to.throw('overlaps or precedes the previous extent, which ends at byte 8704')
      expect(() => encoder.zero(9216, 512)).to.throw('zeroBytes would reach 1024, above the 512 the header announced')
      encoder.data(65536, Buffer.alloc(512))
      expect(() => encoder.data(MiB - 512, Buffer.alloc(512))).to.throw('one extent more than the 2 the header announced')
      encoder.trailer()
      expect(() => encoder.trailer()).to.throw('cannot write the trailer: the trailer is already written')
      expect(() => encoder.zero(MiB - 512, 512)).to.throw('the trailer is already written')
    })

    it('splits a long extent into data records of at most MAX_DATA', () => {
      expect([...splitDataExtent(512, 2 * MAX_DATA + 1024)]).to.deep.equal([
        {offset: 512, length: MAX_DATA}, {offset: 512 + MAX_DATA, length: MAX_DATA}, {offset: 512 + 2 * MAX_DATA, length: 1024},
      ])
      expect([...splitDataExtent(0, 1536, 1024)]).to.deep.equal([{offset: 0, length: 1024}, {offset: 1024, length: 512}])
      expect([...splitDataExtent(0, 0)]).to.deep.equal([])
      expect(() => [...splitDataExtent(0, 512, 0)]).to.throw('extent size limit 0 is not a positive multiple of 512')
    })
  })

  describe('frame reader', () => {
    const twoFrames = Buffer.concat([encodeJsonFrame(0x4d, {a: 1}), encodeFrameHead(0x44, 3), Buffer.from('xyz')])
    const any = (): number => 1024

    it('reads the same frames whatever the chunking, down to single bytes', async () => {
      const random = new Random(3)
      for (const size of [1, 2, 5, 6, twoFrames.length, () => 1 + random.below(9)]) {
        const frames = new FrameReader(chunked(twoFrames, size))
        const first = await frames.next(any)
        expect([first!.kind, first!.at, first!.payload.toString()]).to.deep.equal([0x4d, 0, '{"a":1}'])
        const second = await frames.next(any)
        expect([second!.kind, second!.at, second!.payload.toString()]).to.deep.equal([0x44, 12, 'xyz'])
        expect(await frames.next(any)).to.equal(null)
        expect(frames.bytesRead).to.equal(twoFrames.length)
      }
    })

    it('hands back a payload inside one chunk without copying it', async () => {
      const frames = new FrameReader(chunked(twoFrames, twoFrames.length))
      const {payload} = (await frames.next(any))!
      expect(payload.buffer).to.equal(twoFrames.buffer)
    })

    it('reads frames of 64 MiB across 64 KiB chunks', async () => {
      const payload = new Random(9).bytes(1024).toString('hex').repeat(32 * 1024)
      const input = Buffer.concat([encodeFrameHead(0x44, payload.length), Buffer.from(payload), encodeFrameHead(0x54, 0)])
      const frames = new FrameReader(chunked(input, 65536))
      const big = await frames.next(() => 64 * MiB)
      expect(big!.payload.length).to.equal(64 * MiB)
      expect(big!.payload.toString() === payload).to.equal(true)
      expect((await frames.next(() => 1))!.payload.length).to.equal(0)
    })

    it('refuses a kind or length from the frame head without reading the payload', async () => {
      const kind = await rejection(new FrameReader(thenFail(encodeFrameHead(0x58, 1))).next((k) => (k === 0x44 ? 10 : 0)))
      expect(kind.message).to.equal("frame at stream byte 0: kind 'X' is not allowed here")
      const length = await rejection(new FrameReader(thenFail(encodeFrameHead(0x44, 0xffffffff))).next(() => 10))
      expect(length.message).to.equal("frame 'D' at stream byte 0: length 4294967295 is above its limit of 10")
    })

    it('reads from a Node Readable, and refuses one that yields strings', async () => {
      const frames = new FrameReader(Readable.from([twoFrames.subarray(0, 7), twoFrames.subarray(7)]))
      expect((await frames.next(any))!.payload.toString()).to.equal('{"a":1}')
      const text = new PassThrough()
      text.setEncoding('latin1')
      text.end(twoFrames)
      expect((await rejection(new FrameReader(text).next(any))).message).to.match(/must be bytes/)
    })

    it('pulls input only as frames are read (backpressure)', async () => {
      let produced = 0
      async function* producer(): AsyncGenerator<Buffer> {
        const frame = Buffer.concat([encodeFrameHead(0x44, 65536 - 5), Buffer.alloc(65536 - 5)])
        for (let i = 0; i < 256; i++) {
          produced += frame.length
          yield frame
        }
      }
      const pipe = new PassThrough({highWaterMark: 65536})
      Readable.from(producer()).pipe(pipe)
      const frames = new FrameReader(pipe)
      let most = 0
      const limits = (): number => 65536
      for (let frame = await frames.next(limits); frame; frame = await frames.next(limits)) {
        await new Promise((resolve) => setImmediate(resolve))
        most = Math.max(most, produced - frames.bytesRead)
      }
      expect(frames.bytesRead).to.equal(256 * 65536)
      expect(most, 'bytes produced ahead of the reader').to.be.below(4 * MiB)
    })

    it('encodes frame heads and JSON frames, and parses JSON payloads strictly', () => {
      expect(encodeFrameHead(0x44, 0x01020304)).to.deep.equal(Buffer.from([0x44, 1, 2, 3, 4]))
      expect(() => encodeFrameHead(256, 0)).to.throw('frame kind 256 is not a byte')
      expect(() => encodeFrameHead(0x44, 2 ** 32)).to.throw('does not fit in 32 bits')
      expect(() => encodeJsonFrame(0x4d, [1])).to.throw('a JSON frame carries an object')
      const frame = encodeJsonFrame(0x4d, {hello: 'wörld'})
      expect(frame.readUInt32BE(1)).to.equal(frame.length - 5)
      expect(parseJsonPayload(frame.subarray(5), 'message')).to.deep.equal({hello: 'wörld'})
      const bad = (payload: Buffer | string) => () => parseJsonPayload(Buffer.from(payload), 'message at stream byte 7')
      expect(bad(Buffer.from([0x22, 0xc3, 0x22]))).to.throw(FvmError, /^message at stream byte 7: not valid UTF-8$/)
      expect(bad('{"a":')).to.throw(FvmError, /^message at stream byte 7: not valid JSON$/)
      expect(bad('null')).to.throw(FvmError, /^message at stream byte 7: not a JSON object$/)
      expect(bad('"x"')).to.throw(FvmError, 'not a JSON object')
    })
  })

  describe('memory and speed', function () {
    this.timeout(120_000)
    const total = 256 * MiB
    const block = new Random(5).bytes(MAX_DATA)
    const bigHeader = streamHeader({
      header: {volume: {uuid: uuids.volume, name: 'big', size: total + MiB}},
      extents: Array.from({length: total / MAX_DATA}, (_, i) => ({offset: i * MAX_DATA, data: block})),
    })

    /** The encoded stream in pieces of at most `chunk` bytes, made as they are read. */
    async function* lazyStream(chunk: number): AsyncGenerator<Buffer> {
      const encoder = new StreamEncoder(bigHeader)
      yield* encoder.header()
      for (let i = 0; i < bigHeader.extents; i++) {
        for (const part of encoder.data(i * MAX_DATA, block)) {
          for (let at = 0; at < part.length; at += chunk) yield part.subarray(at, at + chunk)
        }
      }
      yield* encoder.trailer()
    }

    const rate = (bytes: number, started: bigint): string => `${((bytes / MiB) / (Number(process.hrtime.bigint() - started) / 1e9)).toFixed(0)} MB/s`

    it(`decodes a ${total / MiB} MiB stream made lazily, in 64 KiB chunks, with bounded memory`, async () => {
      // rss can hide growth in memory earlier tests freed; arrayBuffers counts Buffers alone.
      const before = process.memoryUsage()
      const growth = {rss: 0, arrayBuffers: 0}
      const started = process.hrtime.bigint()
      const decoder = new StreamDecoder(new FrameReader(lazyStream(65536)))
      await decoder.header()
      let bytes = 0
      for await (const record of decoder) {
        if (record.kind === 'data') bytes += record.data.length
        const now = process.memoryUsage()
        growth.rss = Math.max(growth.rss, now.rss - before.rss)
        growth.arrayBuffers = Math.max(growth.arrayBuffers, now.arrayBuffers - before.arrayBuffers)
      }
      expect(bytes).to.equal(total)
      console.log(`      decode from 64 KiB chunks, encoding as it goes: ${rate(total, started)}; growth at most: rss ${(growth.rss / MiB).toFixed(1)} MiB, buffers ${(growth.arrayBuffers / MiB).toFixed(1)} MiB`)
      expect(growth.rss, 'rss growth while decoding').to.be.below(64 * MiB)
      expect(growth.arrayBuffers, 'buffer memory growth while decoding').to.be.below(64 * MiB)
    })

    it('reports encode speed, and decode speed from 64 KiB chunks and from whole frames (no copy)', async () => {
      let started = process.hrtime.bigint()
      const encoder = new StreamEncoder(bigHeader)
      const parts = encoder.header()
      for (let i = 0; i < bigHeader.extents; i++) parts.push(...encoder.data(i * MAX_DATA, block))
      parts.push(...encoder.trailer())
      const speeds = [`encode: ${rate(total, started)}`]
      // Views of the one data block: the encoded stream costs no memory of its own.
      const pieces = parts.flatMap((part) => Array.from({length: Math.ceil(part.length / 65536)}, (_, i) => part.subarray(i * 65536, (i + 1) * 65536)))
      // Each frame in one chunk, as a reader with large input chunks gets them.
      const frames = [parts[0], ...Array.from({length: bigHeader.extents}, (_, i) => Buffer.concat([parts[1 + 2 * i], block])), parts[parts.length - 1]]
      for (const [how, chunks] of [['64 KiB chunks', pieces], ['whole-frame chunks', frames]] as const) {
        started = process.hrtime.bigint()
        const decoder = new StreamDecoder(new FrameReader(inOrder(chunks)))
        await decoder.header()
        let bytes = 0
        for await (const record of decoder) if (record.kind === 'data') bytes += record.data.length
        speeds.push(`decode from ${how}: ${rate(bytes, started)}`)
      }
      console.log(`      ${speeds.join('; ')}`)
    })
  })
})
