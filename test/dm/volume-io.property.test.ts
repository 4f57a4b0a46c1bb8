// Random sequences of byte-level writes (any offset and length, across block
// boundaries), reads, snapshots, discards, deletes, commits and reopens against an
// in-memory model of every device's bytes and mapped blocks. Every sequence ends with
// our own check and a space accounting check (so fast-check can shrink a failure), and
// both thin_checks on its final metadata (run side by side once all are done).
import {expect} from 'chai'
import fc from 'fast-check'
import {ThinPool} from '../../src/dm/thin/thin-pool.js'
import {discardVolume, readVolume, writeVolume} from '../../src/dm/thin/volume-io.js'
import {FvmError} from '../../src/errors.js'
import {THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {cleanupScratchDirs, prng, SequenceArchive} from './helpers.js'

const BS = 64 * 1024
/** Blocks of each device the sequences touch. */
const SPAN_BLOCKS = 16
const SPAN = SPAN_BLOCKS * BS
/** Enough that no sequence runs out: at most 30 writes of 4 blocks in one transaction, plus what is mapped. */
const DATA_BLOCKS = 512

type Command =
  | {op: 'create', id: number}
  | {op: 'snap', id: number, origin: number}
  | {op: 'write', id: number, offset: number, length: number, seed: number}
  | {op: 'read', id: number, offset: number, length: number}
  | {op: 'discard', id: number, offset: number, length: number}
  | {op: 'delete', id: number}
  | {op: 'commit'}
  | {op: 'reopen'}

const id = fc.integer({min: 1, max: 3})
/** Offsets anywhere, or a few bytes either side of a block boundary. */
const offset = fc.oneof(
  fc.integer({min: 0, max: SPAN - 1}),
  fc.tuple(fc.integer({min: 0, max: SPAN_BLOCKS}), fc.integer({min: -3, max: 3})).map(([b, d]) => Math.min(SPAN - 1, Math.max(0, b * BS + d))),
)
const length = fc.oneof(
  fc.integer({min: 1, max: 300}),
  fc.integer({min: 1, max: 3 * BS}),
  fc.integer({min: 1, max: 3}).map((n) => n * BS),
)
/** A range within the span: the model's devices are SPAN bytes. */
const range = fc.tuple(offset, length).map(([o, l]) => ({offset: o, length: Math.min(l, SPAN - o)}))

const command: fc.Arbitrary<Command> = fc.oneof(
  {arbitrary: fc.record({op: fc.constant('create' as const), id}), weight: 2},
  {arbitrary: fc.record({op: fc.constant('snap' as const), id, origin: id}), weight: 3},
  {arbitrary: fc.tuple(id, range, fc.integer()).map(([i, r, seed]) => ({op: 'write' as const, id: i, ...r, seed})), weight: 8},
  {arbitrary: fc.tuple(id, range).map(([i, r]) => ({op: 'read' as const, id: i, ...r})), weight: 2},
  {arbitrary: fc.tuple(id, range).map(([i, r]) => ({op: 'discard' as const, id: i, ...r})), weight: 3},
  {arbitrary: fc.record({op: fc.constant('delete' as const), id}), weight: 1},
  {arbitrary: fc.constant({op: 'commit' as const}), weight: 2},
  {arbitrary: fc.constant({op: 'reopen' as const}), weight: 1},
)

interface Device {
  bytes: Buffer
  /** Virtual blocks that must be mapped: written ones, less those discarded whole. */
  mapped: Set<number>
}

function pattern(length: number, seed: number): Buffer {
  const next = prng(seed)
  const out = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) out[i] = next(256)
  return out
}

function expectKind(fn: () => unknown, kind: FvmError['kind']): void {
  try {
    fn()
  } catch (err) {
    expect(err).to.be.instanceOf(FvmError)
    expect((err as FvmError).kind).to.equal(kind)
    return
  }
  expect.fail(`expected a ${kind} error`)
}

function expectBytes(pool: ThinPool, devices: Map<number, Device>, id: number, from: number, to: number): void {
  const lo = Math.max(0, from)
  const hi = Math.min(SPAN, to)
  if (hi <= lo) return
  const actual = readVolume(pool, id, lo, hi - lo)
  const expected = devices.get(id)!.bytes.subarray(lo, hi)
  if (!actual.equals(expected)) {
    let i = 0
    while (actual[i] === expected[i]) i++
    expect.fail(`device ${id}: byte ${lo + i} is ${actual[i]}, expected ${expected[i]}`)
  }
}

/** Every device reads as modelled, maps exactly the modelled blocks, and the pool uses exactly the blocks mapped. */
function expectPoolMatches(pool: ThinPool, devices: Map<number, Device>): void {
  expect(pool.devices()).to.deep.equal([0, ...[...devices.keys()].sort((a, b) => a - b)])
  const used = new Set<number>()
  for (const [i, d] of devices) {
    expectBytes(pool, devices, i, 0, SPAN)
    const vblocks: number[] = []
    for (const m of pool.mappings(i)) {
      vblocks.push(m.vblock)
      used.add(m.dataBlock)
    }
    expect(vblocks, `mappings of ${i}`).to.deep.equal([...d.mapped].sort((a, b) => a - b))
  }
  expect(pool.status().usedDataBlocks, 'data blocks in use').to.equal(used.size)
}

function runSequence(dir: string, commands: Command[]): void {
  let pool = ThinPool.format(dir, {dataBlocks: DATA_BLOCKS, dataBlockSize: BS})
  const devices = new Map<number, Device>()
  try {
    for (const c of commands) {
      switch (c.op) {
        case 'create':
          if (devices.has(c.id)) expectKind(() => pool.createThin(c.id), 'conflict')
          else {
            pool.createThin(c.id)
            devices.set(c.id, {bytes: Buffer.alloc(SPAN), mapped: new Set()})
          }
          break
        case 'snap': {
          const origin = devices.get(c.origin)
          if (devices.has(c.id)) expectKind(() => pool.createSnap(c.id, c.origin), 'conflict')
          else if (!origin) expectKind(() => pool.createSnap(c.id, c.origin), 'notFound')
          else {
            pool.createSnap(c.id, c.origin)
            devices.set(c.id, {bytes: Buffer.from(origin.bytes), mapped: new Set(origin.mapped)})
          }
          break
        }
        case 'write': {
          const d = devices.get(c.id)
          const data = pattern(c.length, c.seed)
          if (!d) {
            expectKind(() => writeVolume(pool, c.id, c.offset, data), 'notFound')
            break
          }
          const summary = writeVolume(pool, c.id, c.offset, data)
          expect(summary.bytesWritten).to.equal(c.length)
          data.copy(d.bytes, c.offset)
          for (let v = Math.floor(c.offset / BS); v * BS < c.offset + c.length; v++) d.mapped.add(v)
          // What the write touched, with a block either side, on every device: a copy-on-write bug shows here.
          for (const i of devices.keys()) expectBytes(pool, devices, i, c.offset - BS, c.offset + c.length + BS)
          break
        }
        case 'read':
          if (!devices.has(c.id)) expectKind(() => readVolume(pool, c.id, c.offset, c.length), 'notFound')
          else expectBytes(pool, devices, c.id, c.offset, c.offset + c.length)
          break
        case 'discard': {
          const d = devices.get(c.id)
          if (!d) {
            expectKind(() => discardVolume(pool, c.id, c.offset, c.length), 'notFound')
            break
          }
          discardVolume(pool, c.id, c.offset, c.length)
          d.bytes.fill(0, c.offset, c.offset + c.length)
          for (let v = Math.ceil(c.offset / BS); (v + 1) * BS <= c.offset + c.length; v++) d.mapped.delete(v)
          for (const i of devices.keys()) expectBytes(pool, devices, i, c.offset - BS, c.offset + c.length + BS)
          break
        }
        case 'delete':
          if (!devices.has(c.id)) expectKind(() => pool.delete(c.id), 'notFound')
          else {
            pool.delete(c.id)
            devices.delete(c.id)
          }
          break
        case 'commit':
          pool.commit()
          break
        case 'reopen':
          pool.commit()
          pool.close()
          pool = ThinPool.open(dir)
          expectPoolMatches(pool, devices)
          break
      }
    }
    // Blocks freed since the last commit still count as used until it: commit first.
    pool.commit()
    expectPoolMatches(pool, devices)
  } finally {
    pool.close()
  }
}

describe('dm volume I/O against a byte model', function () {
  before(function () {
    needTools(this, ...THIN_TOOLS)
  })
  after(cleanupScratchDirs)

  it('agrees with the model over 120 random sequences, and thin_check passes after each', async function () {
    this.timeout(300_000)
    const archive = new SequenceArchive<Command[]>()
    fc.assert(
      fc.property(fc.array(command, {minLength: 1, maxLength: 30, size: 'medium'}), (commands) => {
        archive.run(commands, (dir) => runSequence(dir, [{op: 'create', id: 1}, {op: 'write', id: 1, offset: 0, length: 4 * BS, seed: 1}, ...commands]))
      }),
      {numRuns: 120, seed: 20261121},
    )
    expect(archive.size).to.be.at.least(120)
    await archive.assertThinCheckPasses()
  })
})
