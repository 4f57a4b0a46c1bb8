// Writes a rollback must fully undo: with copyAlways no block is written in place, and
// the space map never hands out a block freed in the same transaction, so after a
// rollback the committed mappings find their old bytes. Without it, unshared blocks are
// overwritten in place, as the kernel does.
import {expect} from 'chai'
import {ThinPool} from '../../src/dm/thin/thin-pool.js'
import {readVolume, writeVolume} from '../../src/dm/thin/volume-io.js'
import {THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {checkPool, cleanupScratchDirs, prng, scratchDir} from './helpers.js'

const BS = 64 * 1024

function bytes(length: number, seed: number): Buffer {
  const next = prng(seed)
  const out = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) out[i] = next(256)
  return out
}

describe('dm volume I/O: writes a rollback undoes', () => {
  let dir: string
  let pool: ThinPool

  before(function () {
    needTools(this, ...THIN_TOOLS)
  })
  beforeEach(() => {
    dir = scratchDir('fvm-vio-rollback-')
    pool = ThinPool.format(dir, {dataBlocks: 16, dataBlockSize: BS})
    pool.createThin(1)
  })
  afterEach(function () {
    pool.close()
    if (this.currentTest?.state === 'passed') checkPool(dir)
  })
  after(cleanupScratchDirs)

  it('copyAlways remaps unshared blocks to blocks free at the last commit; a rollback restores the old bytes', () => {
    const old = bytes(4 * BS, 1)
    writeVolume(pool, 1, 0, old)
    pool.commit()
    const oldBlocks = [0, 1, 2, 3].map((v) => pool.lookup(1, v)!.dataBlock)

    expect(writeVolume(pool, 1, 0, bytes(4 * BS, 2), {copyAlways: true})).to.deep.equal({bytesWritten: 4 * BS, blocksAllocated: 4, blocksCopied: 0})
    const newBlocks = [0, 1, 2, 3].map((v) => pool.lookup(1, v)!.dataBlock)
    expect(newBlocks.filter((b) => oldBlocks.includes(b))).to.deep.equal([])
    for (const b of oldBlocks) expect(pool.dataBlockRefCount(b)).to.equal(0)
    // Freed in this transaction, so not handed out again before the commit.
    const more = [0, 1, 2, 3].map(() => pool.allocateDataBlock())
    expect(more.filter((b) => oldBlocks.includes(b))).to.deep.equal([])

    pool.rollback()
    expect([0, 1, 2, 3].map((v) => pool.lookup(1, v)!.dataBlock)).to.deep.equal(oldBlocks)
    expect(readVolume(pool, 1, 0, 4 * BS).equals(old)).to.equal(true)
  })

  it('copyAlways keeps the bytes around a partial write, from the block it replaces', () => {
    const old = bytes(BS, 3)
    writeVolume(pool, 1, 0, old)
    pool.commit()
    const patch = bytes(100, 4)
    expect(writeVolume(pool, 1, 1000, patch, {copyAlways: true})).to.deep.equal({bytesWritten: 100, blocksAllocated: 1, blocksCopied: 1})
    const expected = Buffer.from(old)
    patch.copy(expected, 1000)
    expect(readVolume(pool, 1, 0, BS).equals(expected)).to.equal(true)
    pool.commit()
    expect(readVolume(pool, 1, 0, BS).equals(expected)).to.equal(true)
  })

  it('without copyAlways an unshared block is overwritten in place: a rollback keeps the mapping, not the bytes', () => {
    writeVolume(pool, 1, 0, bytes(BS, 5))
    pool.commit()
    const block = pool.lookup(1, 0)!.dataBlock
    const now = bytes(BS, 6)
    writeVolume(pool, 1, 0, now)
    pool.rollback()
    expect(pool.lookup(1, 0)!.dataBlock).to.equal(block)
    expect(readVolume(pool, 1, 0, BS).equals(now)).to.equal(true)
  })
})
