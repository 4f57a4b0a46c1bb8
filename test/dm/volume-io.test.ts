// Volume I/O on a pool: holes, partial writes, copy-on-write, discard, out of space and
// the shape of the I/O (big contiguous runs), each pool checked by both thin_checks.
import {expect} from 'chai'
import {checkMetadata} from '../../src/dm/thin/check.js'
import {type FileSystem, nodeFileSystem, type PoolFile} from '../../src/dm/pdata/file-io.js'
import {ThinPool} from '../../src/dm/thin/thin-pool.js'
import {discardVolume, readVolume, readVolumeStream, writeVolume, writeVolumeStream} from '../../src/dm/thin/volume-io.js'
import {FvmError} from '../../src/errors.js'
import {THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {checkPool, cleanupScratchDirs, metadataPath, prng, scratchDir} from './helpers.js'

const KiB = 1024
const MiB = 1024 * KiB
const BS = 64 * KiB

function bytes(length: number, seed: number): Buffer {
  const next = prng(seed)
  const out = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) out[i] = next(256)
  return out
}

function expectKind(fn: () => unknown, kind: FvmError['kind']): FvmError {
  try {
    fn()
  } catch (err) {
    expect(err).to.be.instanceOf(FvmError)
    expect((err as FvmError).kind, (err as Error).message).to.equal(kind)
    return err as FvmError
  }
  return expect.fail(`expected a ${kind} error`)
}

async function expectKindAsync(promise: Promise<unknown>, kind: FvmError['kind']): Promise<FvmError> {
  try {
    await promise
  } catch (err) {
    expect(err).to.be.instanceOf(FvmError)
    expect((err as FvmError).kind, (err as Error).message).to.equal(kind)
    return err as FvmError
  }
  return expect.fail(`expected a ${kind} error`)
}

/** Data file preads and pwrites, by size. */
interface IoLog {
  reads: number[]
  writes: number[]
}

function loggingFs(log: IoLog): FileSystem {
  return {
    ...nodeFileSystem,
    open(path, flags) {
      const f = nodeFileSystem.open(path, flags)
      if (!path.endsWith('/data')) return f
      const logged: PoolFile = {
        path: f.path,
        pread: (buf, pos) => (log.reads.push(buf.length), f.pread(buf, pos)),
        pwrite: (buf, pos) => (log.writes.push(buf.length), f.pwrite(buf, pos)),
        fsync: () => f.fsync(),
        fdatasync: () => f.fdatasync(),
        size: () => f.size(),
        truncate: (n) => f.truncate(n),
        close: () => f.close(),
      }
      return logged
    },
  }
}

describe('dm volume I/O', function () {
  this.timeout(60_000)
  let dir: string
  let pool: ThinPool

  function open(options: {dataBlocks?: number, dataBlockSize?: number} = {}): ThinPool {
    dir = scratchDir('fvm-vio-')
    pool = ThinPool.format(dir, {dataBlocks: options.dataBlocks ?? 256, dataBlockSize: options.dataBlockSize ?? BS})
    pool.createThin(1)
    pool.commit()
    return pool
  }

  function zeros(length: number): Buffer {
    return Buffer.alloc(length)
  }

  before(function () {
    needTools(this, ...THIN_TOOLS)
  })
  afterEach(function () {
    if (pool === undefined) return
    try {
      if (this.currentTest?.state === 'passed') {
        pool.commit()
        pool.close()
        checkPool(dir)
        const report = checkMetadata(metadataPath(dir))
        expect(report.clean, JSON.stringify(report.issues)).to.equal(true)
      }
    } finally {
      pool.close()
    }
  })
  after(cleanupScratchDirs)

  it('reads unmapped ranges as zeros and maps nothing', () => {
    open()
    expect(readVolume(pool, 1, 12345, 3 * MiB + 7).equals(zeros(3 * MiB + 7))).to.equal(true)
    expect(readVolume(pool, 1, 2 ** 40, 10).equals(zeros(10))).to.equal(true)
    expect(readVolume(pool, 1, 5, 0).length).to.equal(0)
    expect(pool.details(1).mappedBlocks).to.equal(0)
  })

  it('writes at any offset and length, across block boundaries, around holes', () => {
    open()
    const a = bytes(200_000, 1)
    expect(writeVolume(pool, 1, 1000, a)).to.deep.equal({bytesWritten: 200_000, blocksAllocated: 4, blocksCopied: 0})
    const b = bytes(10, 2)
    writeVolume(pool, 1, 10 * BS - 5, b)
    expect(pool.details(1).mappedBlocks).to.equal(6)
    const all = readVolume(pool, 1, 0, 12 * BS)
    const expected = zeros(12 * BS)
    a.copy(expected, 1000)
    b.copy(expected, 10 * BS - 5)
    expect(all.equals(expected)).to.equal(true)
    // Unaligned reads that start and end inside blocks and holes.
    expect(readVolume(pool, 1, 999, 70_000).equals(expected.subarray(999, 70_999))).to.equal(true)
    expect(readVolume(pool, 1, 5 * BS - 3, 5 * BS + 9).equals(expected.subarray(5 * BS - 3, 10 * BS + 6))).to.equal(true)
  })

  it('overwrites a block of its own in place, committed or not', () => {
    open()
    writeVolume(pool, 1, 0, bytes(BS, 1))
    const before = pool.lookup(1, 0)!.dataBlock
    pool.commit()
    expect(writeVolume(pool, 1, 100, bytes(50, 2))).to.deep.equal({bytesWritten: 50, blocksAllocated: 0, blocksCopied: 0})
    expect(pool.lookup(1, 0)!.dataBlock).to.equal(before)
    const expected = bytes(BS, 1)
    bytes(50, 2).copy(expected, 100)
    expect(readVolume(pool, 1, 0, BS).equals(expected)).to.equal(true)
  })

  it('never shows a reused data block\'s old bytes around a partial write', () => {
    open({dataBlocks: 4})
    for (let v = 0; v < 4; v++) writeVolume(pool, 1, v * BS, Buffer.alloc(BS, 0xaa))
    pool.commit()
    const used = new Set([0, 1, 2, 3].map((v) => pool.lookup(1, v)!.dataBlock))
    discardVolume(pool, 1, 0, 4 * BS)
    pool.commit()
    expect(pool.status().usedDataBlocks).to.equal(0)
    const b = bytes(10, 3)
    writeVolume(pool, 1, 7 * BS + 100, b)
    expect(used.has(pool.lookup(1, 7)!.dataBlock), 'the block is one that held 0xaa').to.equal(true)
    const expected = zeros(BS)
    b.copy(expected, 100)
    expect(readVolume(pool, 1, 7 * BS, BS).equals(expected)).to.equal(true)
    // What the kernel would read: the data block itself, on disk.
    pool.commit()
    const onDisk = Buffer.alloc(BS)
    pool.dataFile.pread(onDisk, pool.lookup(1, 7)!.dataBlock * BS)
    expect(onDisk.equals(expected)).to.equal(true)
  })

  it('copies a block shared with a snapshot before writing it; the snapshot reads as before', () => {
    open()
    const original = bytes(3 * BS, 1)
    writeVolume(pool, 1, 0, original)
    pool.createSnap(2, 1)
    const patch = bytes(BS, 2)
    // Across blocks 0 and 1: both copied, the bytes around the patch from the old blocks.
    expect(writeVolume(pool, 1, BS / 2, patch)).to.deep.equal({bytesWritten: BS, blocksAllocated: 2, blocksCopied: 2})
    expect(readVolume(pool, 2, 0, 3 * BS).equals(original)).to.equal(true)
    const expected = Buffer.from(original)
    patch.copy(expected, BS / 2)
    expect(readVolume(pool, 1, 0, 3 * BS).equals(expected)).to.equal(true)
    expect(pool.lookup(1, 2)!.dataBlock).to.equal(pool.lookup(2, 2)!.dataBlock)
    expect(pool.lookup(1, 0)!.dataBlock).to.not.equal(pool.lookup(2, 0)!.dataBlock)
    // And the other way round: writing the snapshot leaves the origin alone.
    writeVolume(pool, 2, 2 * BS + 5, bytes(5, 4))
    expect(readVolume(pool, 1, 0, 3 * BS).equals(expected)).to.equal(true)
    pool.commit()
    pool.close()
    pool = ThinPool.open(dir)
    expect(readVolume(pool, 1, 0, 3 * BS).equals(expected)).to.equal(true)
    expect(readVolume(pool, 2, 0, 2 * BS).equals(original.subarray(0, 2 * BS))).to.equal(true)
  })

  it('copies a block two devices map without a snapshot (reference count above 1)', () => {
    open()
    const original = bytes(BS, 1)
    writeVolume(pool, 1, 0, original)
    pool.createThin(2)
    const shared = pool.lookup(1, 0)!.dataBlock
    pool.incDataBlock(shared)
    pool.insert(2, 0, shared)
    expect(pool.lookup(2, 0)!.shared, 'not shared by the kernel\'s time rule').to.equal(false)
    expect(writeVolume(pool, 2, 10, bytes(10, 2)).blocksCopied).to.equal(1)
    expect(readVolume(pool, 1, 0, BS).equals(original)).to.equal(true)
    expect(pool.dataBlockRefCount(shared)).to.equal(1)
  })

  it('discard unmaps whole blocks, frees those no snapshot keeps, and zeroes the partial ends', () => {
    open()
    const original = bytes(9 * BS, 1)
    writeVolume(pool, 1, 0, original.subarray(0, 6 * BS))
    pool.createSnap(2, 1)
    writeVolume(pool, 1, 6 * BS, original.subarray(6 * BS))
    const used = pool.status().usedDataBlocks
    const end = 8 * BS + BS / 2
    // Blocks 1-7 whole (1-5 kept by the snapshot, 6-7 freed); 0 shared, so copied to zero its end; 8 zeroed in place.
    expect(discardVolume(pool, 1, 1000, end - 1000)).to.deep.equal({blocksUnmapped: 7, blocksFreed: 2, bytesZeroed: BS - 1000 + BS / 2})
    expect(pool.status().usedDataBlocks).to.equal(used - 2 + 1)
    expect(pool.details(1).mappedBlocks).to.equal(2)
    const expected = Buffer.from(original)
    expected.fill(0, 1000, end)
    expect(readVolume(pool, 1, 0, 9 * BS).equals(expected)).to.equal(true)
    expect(readVolume(pool, 2, 0, 6 * BS).equals(original.subarray(0, 6 * BS))).to.equal(true)
  })

  it('discard inside one block, or over holes, changes only what it must', () => {
    open()
    const original = bytes(BS, 1)
    writeVolume(pool, 1, 0, original)
    expect(discardVolume(pool, 1, 10, 20)).to.deep.equal({blocksUnmapped: 0, blocksFreed: 0, bytesZeroed: 20})
    expect(discardVolume(pool, 1, BS, 100 * BS + 17)).to.deep.equal({blocksUnmapped: 0, blocksFreed: 0, bytesZeroed: 0})
    expect(discardVolume(pool, 1, 0, 0)).to.deep.equal({blocksUnmapped: 0, blocksFreed: 0, bytesZeroed: 0})
    expect(pool.details(1).mappedBlocks).to.equal(1)
    const expected = Buffer.from(original).fill(0, 10, 30)
    expect(readVolume(pool, 1, 0, BS).equals(expected)).to.equal(true)
  })

  it('discards a huge sparse range without visiting every block', () => {
    open()
    writeVolume(pool, 1, 2 ** 40, bytes(10, 1))
    writeVolume(pool, 1, 3, bytes(10, 2))
    const started = performance.now()
    expect(discardVolume(pool, 1, 0, 2 ** 50).blocksUnmapped).to.equal(2)
    expect(performance.now() - started).to.be.below(1000)
    expect(pool.details(1).mappedBlocks).to.equal(0)
  })

  it('fails a write out of data space cleanly: no new mapping, the snapshot intact, the space back', () => {
    open({dataBlocks: 8})
    const original = bytes(5 * BS, 1)
    writeVolume(pool, 1, 0, original)
    pool.createSnap(2, 1)
    pool.createThin(3)
    pool.commit()
    const used = pool.status().usedDataBlocks
    // Copying all five shared blocks needs five free blocks; three are left.
    const err = expectKind(() => writeVolume(pool, 1, 0, bytes(5 * BS, 2)), 'noSpace')
    expect(err.message).to.match(/out of data space/)
    expect(pool.status().usedDataBlocks).to.equal(used)
    expect(readVolume(pool, 1, 0, 5 * BS).equals(original)).to.equal(true)
    expect(readVolume(pool, 2, 0, 5 * BS).equals(original)).to.equal(true)
    expectKind(() => writeVolume(pool, 3, 1000, bytes(4 * BS, 3)), 'noSpace')
    expect(pool.details(3).mappedBlocks).to.equal(0)
    expect(pool.status().usedDataBlocks).to.equal(used)
    // What fits still goes in.
    expect(writeVolume(pool, 3, 0, bytes(3 * BS, 4)).blocksAllocated).to.equal(3)
  })

  it('fails a stream that ends before --length, or runs out of space, with nothing mapped', async () => {
    open({dataBlocks: 4})
    async function* chunks(n: number, size: number): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < n; i++) yield bytes(size, i)
    }
    await expectKindAsync(writeVolumeStream(pool, 1, 0, chunks(2, 1000), 3000), 'usage')
    expect(pool.details(1).mappedBlocks).to.equal(0)
    await expectKindAsync(writeVolumeStream(pool, 1, 0, chunks(10, BS)), 'noSpace')
    expect(pool.details(1).mappedBlocks).to.equal(0)
    expect(pool.status().usedDataBlocks).to.equal(0)
    // A longer source is read only as far as the length.
    expect((await writeVolumeStream(pool, 1, 0, chunks(10, 1000), 2500)).bytesWritten).to.equal(2500)
    expect(readVolume(pool, 1, 0, 3000).equals(Buffer.concat([bytes(1000, 0), bytes(1000, 1), bytes(500, 2), zeros(500)]))).to.equal(true)
  })

  it('refuses bad offsets and lengths, missing devices and read-only pools, changing nothing', () => {
    open()
    writeVolume(pool, 1, 0, bytes(10, 1))
    for (const [offset, length] of [[-1, 1], [0.5, 1], [0, -1], [0, 1.5], [2 ** 53, 0], [2 ** 53 - 10, 11], [Number.NaN, 1]]) {
      expectKind(() => readVolume(pool, 1, offset, length), 'usage')
      expectKind(() => discardVolume(pool, 1, offset, length), 'usage')
      if (length >= 0 && Number.isInteger(length) && length < 100) expectKind(() => writeVolume(pool, 1, offset, bytes(length, 2)), 'usage')
    }
    expectKind(() => writeVolume(pool, 9, 0, bytes(1, 1)), 'notFound')
    expectKind(() => readVolumeStream(pool, 9, 0, 1), 'notFound')
    expectKind(() => discardVolume(pool, 9, 0, 1), 'notFound')
    // Refusals happen before any change: the uncommitted write is still there.
    expect(readVolume(pool, 1, 0, 10).equals(bytes(10, 1))).to.equal(true)
    pool.commit()
    pool.close()
    pool = ThinPool.open(dir, {readOnly: true})
    expectKind(() => writeVolume(pool, 1, 0, bytes(1, 1)), 'usage')
    expectKind(() => discardVolume(pool, 1, 0, BS), 'usage')
    expect(readVolume(pool, 1, 0, 10).equals(bytes(10, 1))).to.equal(true)
    pool.close()
    pool = ThinPool.open(dir)
  })

  it('writes a big sequential stream to consecutive data blocks in big pwrites, and reads it in big preads', async () => {
    const log: IoLog = {reads: [], writes: []}
    open({dataBlocks: 2048})
    pool.close()
    pool = ThinPool.open(dir, {fs: loggingFs(log)})
    const total = 64 * MiB
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < total; at += 4 * MiB) yield Buffer.alloc(4 * MiB, at / MiB)
    }
    await writeVolumeStream(pool, 1, 0, source())
    pool.commit()
    const first = pool.lookup(1, 0)!.dataBlock
    let n = 0
    for (const m of pool.mappings(1)) expect(m.dataBlock, `block ${m.vblock}`).to.equal(first + n++)
    expect(n).to.equal(total / BS)
    expect(log.writes.length).to.equal(total / (4 * MiB))
    expect(Math.min(...log.writes)).to.equal(4 * MiB)
    let at = 0
    for (const chunk of readVolumeStream(pool, 1, 0, total)) {
      expect(chunk.equals(Buffer.alloc(chunk.length, Math.floor(at / (4 * MiB)) * 4)), `at ${at}`).to.equal(true)
      at += chunk.length
    }
    expect(at).to.equal(total)
    expect(log.reads.length).to.equal(total / (4 * MiB))
  })

  it('gathers small unaligned writes, and the zeros around them, into big pwrites', async () => {
    const log: IoLog = {reads: [], writes: []}
    open({dataBlocks: 512})
    pool.close()
    pool = ThinPool.open(dir, {fs: loggingFs(log)})
    const data = bytes(8 * MiB + 12345, 7)
    function* pieces(): Generator<Uint8Array> {
      for (let at = 0; at < data.length; at += 10_000) yield data.subarray(at, at + 10_000)
    }
    await writeVolumeStream(pool, 1, 777, pieces())
    expect(log.writes.length).to.equal(3)
    expect(readVolume(pool, 1, 0, data.length + 777).equals(Buffer.concat([zeros(777), data]))).to.equal(true)
  })

  it('handles blocks bigger than its I/O chunk: fills, copies and discards in pieces', () => {
    const bs = 8 * MiB
    open({dataBlocks: 8, dataBlockSize: bs})
    const a = bytes(100, 1)
    writeVolume(pool, 1, 5 * MiB, a)
    const expected = zeros(2 * bs)
    a.copy(expected, 5 * MiB)
    expect(readVolume(pool, 1, 0, 2 * bs).equals(expected)).to.equal(true)
    const big = bytes(6 * MiB, 2)
    writeVolume(pool, 1, bs - 3 * MiB, big)
    big.copy(expected, bs - 3 * MiB)
    pool.createSnap(2, 1)
    const c = bytes(100, 3)
    expect(writeVolume(pool, 1, bs + 7 * MiB, c)).to.deep.equal({bytesWritten: 100, blocksAllocated: 1, blocksCopied: 1})
    const snapshot = Buffer.from(expected)
    c.copy(expected, bs + 7 * MiB)
    expect(readVolume(pool, 1, 0, 2 * bs).equals(expected)).to.equal(true)
    expect(readVolume(pool, 2, 0, 2 * bs).equals(snapshot)).to.equal(true)
    expect(discardVolume(pool, 1, MiB, bs + MiB).bytesZeroed).to.equal(bs + MiB)
    expected.fill(0, MiB, bs + 2 * MiB)
    expect(readVolume(pool, 1, 0, 2 * bs).equals(expected)).to.equal(true)
  })
})
