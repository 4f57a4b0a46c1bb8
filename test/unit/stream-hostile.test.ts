// The stream fuzzer: mutated streams (test/support/hostile-streams.ts) fed whole to the
// decoder, through random chunkings. Each must be refused as corrupt with one clear
// line, quickly and without large allocations, or, when the mutation left a valid
// stream, decode to exactly what the encoder writes for what was decoded. A mutation
// aimed at one check (a flipped offset bit, which the record's own CRC must catch
// before anything else looks at the offset) must be refused by that check.
import {expect} from 'chai'
import {FvmError} from '../../src/errors.js'
import {StreamTruncated} from '../../src/plumbing/stream/frames.js'
import {
  buildValidStream, chunked, decodeStream, type DecodedStream, encodeStream, hostileStreams, Random, uuids,
} from '../support/hostile-streams.js'

const MiB = 1024 * 1024

/** A refusal's message with its values taken out: what kind of check it was. */
function checkOf(error: FvmError): string {
  if (error instanceof StreamTruncated) return 'truncated'
  return error.message
    .replace(/ \(got .*\)$/, '')
    .replace(/kind \S+ is not/, 'kind K is not')
    .replace(/unsupported format .* \(this/, 'unsupported format F (this')
    .replace(/ \((stream byte|recorded) [^)]*\)/g, '')
    .replace(/"(\\.|[^"\\])*("|\.\.\.)/g, '"…"')
    .replace(/0x[0-9a-f]+|\d+(\^\d+)?/g, 'N')
}

/** The bytes from the end of the header frame to the trailer's stream CRC: the records as sent. */
function recordBytes(stream: Buffer): Buffer {
  return stream.subarray(5 + stream.readUInt32BE(1), stream.length - 4)
}

describe('stream fuzzing', function () {
  this.timeout(60_000)

  const valids: [string, Buffer][] = [
    ['a full stream', buildValidStream()],
    ['a resumed delta', buildValidStream({
      header: {base: uuids.base, resumeFrom: 4096, target: {uuid: uuids.target, parent: uuids.base, created: '2024-06-01T00:00:00+02:00'}},
      extents: [{offset: 4096, zeros: 512}, {offset: 8192, data: new Random(2).bytes(4096)}, {offset: MiB - 65536, zeros: 65536}],
    })],
  ]

  it('refuses every mutated stream as corrupt, or decodes it exactly as the encoder writes it', async () => {
    const checks = new Map<string, number>()
    let streams = 0
    let accepted = 0
    let aimed = 0
    let slowest = {name: '', ms: 0}
    const before = process.memoryUsage()
    for (const [seed, [label, valid]] of valids.entries()) {
      const random = new Random(100 + seed)
      for (const mutated of hostileStreams(valid, {seed, count: 2000})) {
        const {bytes} = mutated
        const name = `${label}, ${mutated.name}`
        streams += 1
        // Whole, byte by byte, or in small random pieces: the frame reader must not care.
        const split = random.below(10)
        const input = split < 5 ? bytes : chunked(bytes, split === 5 ? 1 : () => 1 + random.below(64))
        const started = performance.now()
        let decoded: DecodedStream
        try {
          decoded = await decodeStream(input)
        } catch (error) {
          if (!(error instanceof FvmError)) expect.fail(`${name}: threw ${String(error)}`)
          expect(error.kind, name).to.equal('corrupt')
          expect(error.message, name).to.match(/^[^\u0000-\u001f\u007f\u2028\u2029]{10,300}$/)
          checks.set(checkOf(error), (checks.get(checkOf(error)) ?? 0) + 1)
          if (mutated.expected) {
            aimed += 1
            expect(error.message, name).to.match(mutated.expected)
          }
          continue
        } finally {
          const ms = performance.now() - started
          if (ms > slowest.ms) slowest = {name, ms}
        }
        if (mutated.expected) expect.fail(`${name}: decoded, but must be refused as ${mutated.expected}`)
        accepted += 1
        const again = encodeStream(decoded.header, decoded.records)
        expect(await decodeStream(again), name).to.deep.equal(decoded)
        expect(recordBytes(again).equals(recordBytes(bytes)), `${name}: records as sent`).to.equal(true)
      }
    }
    const growth = process.memoryUsage().rss - before.rss
    const table = [...checks].sort(([a, m], [b, n]) => n - m || a.localeCompare(b)).map(([check, n]) => `${String(n).padStart(7)}  ${check}`)
    console.log(`      ${streams} streams: ${streams - accepted} refused (${aimed} by the check they aimed at), ${accepted} still valid and decoded exactly; slowest ${slowest.ms.toFixed(1)} ms (${slowest.name}); rss growth ${(growth / MiB).toFixed(1)} MiB`)
    console.log(`      refused by:\n${table.join('\n')}`)
    expect(streams).to.be.at.least(10_000)
    // 64 offset bits of each of the 7 extent records, 64 length bits of the 4 zero ones, and more.
    expect(aimed).to.be.at.least(7 * 64 + 4 * 64)
    expect(slowest.ms, slowest.name).to.be.below(1000)
    expect(growth, 'rss growth').to.be.below(64 * MiB)
  })

  it('makes the same streams for the same seed, and others for another', () => {
    const valid = buildValidStream()
    const digest = (seed: number): string[] => [...hostileStreams(valid, {seed, count: 50})].map((s) => `${s.name}:${s.bytes.toString('base64')}`)
    expect(digest(1)).to.deep.equal(digest(1))
    expect(digest(1)).not.to.deep.equal(digest(2))
  })
})
