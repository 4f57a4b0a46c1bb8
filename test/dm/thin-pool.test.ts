import fs from 'node:fs'
import path from 'node:path'
import {expect} from 'chai'
import {FvmError} from '../../src/errors.js'
import {BlockCache} from '../../src/dm/pdata/block-cache.js'
import {btreeNodeKind, childAt, isLeaf} from '../../src/dm/pdata/btree-node.js'
import {lookup} from '../../src/dm/pdata/btree-lookup.js'
import {SALT, sealBlock} from '../../src/dm/pdata/crc32c.js'
import {type FileSystem, nodeFileSystem} from '../../src/dm/pdata/file-io.js'
import {decodeSuperblock, superblockKind} from '../../src/dm/thin/superblock.js'
import {ThinPool} from '../../src/dm/thin/thin-pool.js'
import {THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {
  checkPool,
  cleanupScratchDirs,
  dumpPool,
  expectDumpMatches,
  expectPoolMatches,
  metadataPath,
  type Model,
  prng,
  scratchDir,
} from './helpers.js'

function expectFvmError(fn: () => unknown, kind: FvmError['kind'], message: RegExp): void {
  try {
    fn()
  } catch (err) {
    expect(err).to.be.instanceOf(FvmError)
    expect((err as FvmError).kind).to.equal(kind)
    expect((err as FvmError).message).to.match(message)
    return
  }
  expect.fail(`expected a ${kind} error matching ${message}`)
}

/** Levels of the device's mapping tree, read straight from the committed metadata. */
function mappingTreeDepth(dir: string, id: number): number {
  const file = nodeFileSystem.open(metadataPath(dir), 'r')
  try {
    const cache = new BlockCache(file, Math.floor(file.size() / 4096))
    const sb = decodeSuperblock(cache.read(0, superblockKind))
    const u64 = {size: 8, read: (b: Buffer, o: number) => b.readUInt32LE(o), write: () => {}}
    let b = lookup(cache, u64, sb.dataMappingRoot, id)!
    let depth = 1
    for (let node = cache.read(b, btreeNodeKind); !isLeaf(node); node = cache.read(b, btreeNodeKind)) {
      b = childAt(node, 0)
      depth++
    }
    return depth
  } finally {
    file.close()
  }
}

/** A write the way the kernel does it: in place if the block is the device's own, else to a new block. */
function write(pool: ThinPool, model: Model, id: number, vblock: number): void {
  const m = pool.lookup(id, vblock)
  if (m && !m.shared) return
  const b = pool.allocateDataBlock()
  pool.insert(id, vblock, b)
  model.get(id)!.set(vblock, b)
}

describe('dm ThinPool', function () {
  before(function () {
    needTools(this, ...THIN_TOOLS)
  })
  after(cleanupScratchDirs)

  describe('format', () => {
    it('makes a pool that both thin_checks accept, with device 0 reserved', () => {
      const dir = scratchDir()
      const old = process.umask(0)
      let pool: ThinPool
      try {
        pool = ThinPool.format(dir, {dataBlocks: 100_000})
      } finally {
        process.umask(old)
      }
      for (const name of ['metadata', 'data']) expect(fs.statSync(path.join(dir, name)).mode & 0o777).to.equal(0o600)
      expect(fs.readdirSync(dir).sort()).to.deep.equal(['data', 'metadata'])
      expect(fs.statSync(path.join(dir, 'data')).size).to.equal(100_000 * 65536)
      expect(fs.statSync(path.join(dir, 'metadata')).size).to.equal(Math.ceil((4 * 48 * 100_000) / 4096) * 4096)
      expect(pool.devices()).to.deep.equal([0])
      expect(pool.status()).to.include({transactionId: 0, time: 0, usedDataBlocks: 0, totalDataBlocks: 100_000, heldRoot: undefined})
      pool.close()
      checkPool(dir)
      const dump = dumpPool(dir)
      expect(dump.nrDataBlocks).to.equal(100_000)
      expect([...dump.devices.keys()]).to.deep.equal([0])
      const sb = fs.readFileSync(path.join(dir, 'metadata')).subarray(0, 4096)
      expect(sb.readUInt32LE(40), 'version').to.equal(2)
    })

    it('sizes small pools at 2 MiB of metadata and big ones at the kernel maximum', () => {
      const small = scratchDir()
      ThinPool.format(small, {dataBlocks: 10, dataBlockSize: 1 << 20}).close()
      expect(fs.statSync(path.join(small, 'metadata')).size).to.equal(2 * 1024 * 1024)
      expect(fs.statSync(path.join(small, 'data')).size).to.equal(10 << 20)
      checkPool(small)
    })

    it('refuses bad sizes and an existing pool', () => {
      const dir = scratchDir()
      expectFvmError(() => ThinPool.format(dir, {dataBlocks: 10, dataBlockSize: 4096}), 'usage', /data block size 4096/)
      expectFvmError(() => ThinPool.format(dir, {dataBlocks: -1}), 'usage', /data block count -1/)
      ThinPool.format(dir, {dataBlocks: 10}).close()
      expectFvmError(() => ThinPool.format(dir, {dataBlocks: 10}), 'conflict', /already exists/)
      expectFvmError(() => ThinPool.open(scratchDir()), 'notFound', /no pool at/)
    })
  })

  describe('a device through its whole life', () => {
    const model: Model = new Map([[0, new Map()]])
    const random = prng(7)
    const N = 110_000
    let dir: string
    let pool: ThinPool

    before(() => {
      dir = scratchDir()
      pool = ThinPool.format(dir, {dataBlocks: 300_000})
    })
    after(() => pool.close())

    it('maps 110,000 blocks in random order, three levels deep', () => {
      pool.createThin(1)
      model.set(1, new Map())
      const order = Array.from({length: N}, (_, i) => i)
      for (let i = N - 1; i > 0; i--) {
        const j = random(i + 1)
        ;[order[i], order[j]] = [order[j], order[i]]
      }
      for (const v of order) write(pool, model, 1, v * 2)
      pool.commit()
      checkPool(dir)
      expect(mappingTreeDepth(dir, 1)).to.equal(3)
      expectPoolMatches(pool, model)
      const dump = expectDumpMatches(dir, model)
      expect([...dump.devices.get(1)!.mappings.values()].every(([, time]) => time === 0)).to.equal(true)
    })

    it('snapshots at constant cost and stamps the kernel times', () => {
      const before = pool.status().usedMetadataBlocks
      pool.createSnap(2, 1)
      model.set(2, new Map(model.get(1)))
      expect(pool.status().usedMetadataBlocks - before).to.be.at.most(4)
      expect(pool.time).to.equal(1)
      expect(pool.details(1)).to.include({creationTime: 0, snapshottedTime: 1, mappedBlocks: N})
      expect(pool.details(2)).to.include({creationTime: 1, snapshottedTime: 1, mappedBlocks: N})
      expect(pool.lookup(1, 0)).to.include({time: 0, shared: true})
      pool.commit()
      checkPool(dir)
    })

    it('copies on write in the origin and the snapshot, with new mappings at the new time', () => {
      const snapshotAt = new Map(model.get(2))
      for (let i = 0; i < 4000; i++) write(pool, model, 1, random(N) * 2)
      for (let i = 0; i < 4000; i++) write(pool, model, 2, random(N) * 2)
      for (let i = 0; i < 500; i++) write(pool, model, 2, 2 * N + i)
      pool.commit()
      checkPool(dir)
      expectPoolMatches(pool, model)
      const dump = expectDumpMatches(dir, model)
      const snap = dump.devices.get(2)!
      for (const [v, [b, time]] of snap.mappings) {
        expect(time, `time of ${v}`).to.equal(snapshotAt.get(v) === b ? 0 : 1)
      }
      const rewritten = [...model.get(1)!].find(([v, b]) => snapshotAt.get(v) !== b)!
      expect(pool.lookup(1, rewritten[0])).to.deep.equal({dataBlock: rewritten[1], time: 1, shared: false})
    })

    it('lists where origin and snapshot differ, and everything with includeSame', () => {
      const origin = model.get(1)!
      const snap = model.get(2)!
      const differing = [...new Set([...origin.keys(), ...snap.keys()])].filter((v) => origin.get(v) !== snap.get(v)).sort((a, b) => a - b)
      const deltas = [...pool.delta(1, 2)]
      expect(deltas.map((d) => d.vblock)).to.deep.equal(differing)
      for (const d of deltas) {
        expect(d.left?.dataBlock).to.equal(origin.get(d.vblock))
        expect(d.right?.dataBlock).to.equal(snap.get(d.vblock))
      }
      let all = 0
      for (const d of pool.delta(1, 2, {includeSame: true})) if (d.left && d.right) all++
      expect(all).to.equal([...origin.keys()].filter((v) => snap.has(v)).length)
      const iterating = pool.mappings(1)
      iterating.next()
      pool.createThin(3)
      expectFvmError(() => iterating.next(), 'conflict', /pool changed while listing the mappings of thin device 1/)
      pool.rollback()
    })

    it('removes 95% of the origin, merging and rebalancing nodes', () => {
      const keys = [...model.get(1)!.keys()]
      for (let i = keys.length - 1; i > 0; i--) {
        const j = random(i + 1)
        ;[keys[i], keys[j]] = [keys[j], keys[i]]
      }
      for (const v of keys.slice(0, Math.floor(keys.length * 0.95))) {
        expect(pool.remove(1, v)).to.equal(true)
        model.get(1)!.delete(v)
      }
      expect(pool.remove(1, 2 * N + 1)).to.equal(false)
      pool.commit()
      checkPool(dir)
      expectPoolMatches(pool, model)
    })

    it('deletes the origin while the snapshot keeps the shared blocks', () => {
      pool.delete(1)
      model.delete(1)
      pool.commit()
      checkPool(dir)
      expectPoolMatches(pool, model)
      expectFvmError(() => pool.details(1), 'notFound', /thin device 1 does not exist/)
    })

    it('reads the same after reopening', () => {
      pool.close()
      pool = ThinPool.open(dir)
      expectPoolMatches(pool, model)
      expectDumpMatches(dir, model)
      for (const m of pool.mappings(2, 1000)) {
        expect(m.vblock).to.be.at.least(1000)
        expect(pool.dataBlockRefCount(m.dataBlock)).to.equal(1)
      }
    })

    it('frees every block when the last device goes', () => {
      pool.delete(2)
      pool.commit()
      checkPool(dir)
      expect(pool.status().usedDataBlocks).to.equal(0)
    })
  })

  describe('metadata snapshots', () => {
    it('holds a copy thin_dump -m reads while the pool changes, then releases it', () => {
      const dir = scratchDir()
      const pool = ThinPool.format(dir, {dataBlocks: 1000})
      pool.createThin(1)
      for (let v = 0; v < 300; v++) pool.insert(1, v, pool.allocateDataBlock())
      const held = pool.reserveMetadataSnap()
      expect(pool.status().heldRoot).to.equal(held)
      expectFvmError(() => pool.reserveMetadataSnap(), 'conflict', /already held/)
      for (let v = 0; v < 300; v += 2) pool.remove(1, v)
      pool.createThin(2)
      pool.commit()
      checkPool(dir)
      const snap = dumpPool(dir, [`--metadata-snap=${held}`])
      expect([...snap.devices.keys()]).to.deep.equal([0, 1])
      expect(snap.devices.get(1)!.mappings.size).to.equal(300)
      expect(dumpPool(dir).devices.get(1)!.mappings.size).to.equal(150)
      pool.releaseMetadataSnap()
      expect(pool.status().heldRoot).to.equal(undefined)
      checkPool(dir)
      expectFvmError(() => pool.releaseMetadataSnap(), 'notFound', /no metadata snapshot/)
      pool.close()
    })
  })

  describe('transactions', () => {
    it('drops uncommitted changes on rollback and on close', () => {
      const dir = scratchDir()
      let pool = ThinPool.format(dir, {dataBlocks: 1000})
      pool.createThin(1)
      pool.insert(1, 5, pool.allocateDataBlock())
      pool.commit()
      pool.createThin(2)
      pool.insert(1, 6, pool.allocateDataBlock())
      pool.rollback()
      expect(pool.devices()).to.deep.equal([0, 1])
      expect([...pool.mappings(1)].map((m) => m.vblock)).to.deep.equal([5])
      pool.createThin(3)
      pool.close()
      pool = ThinPool.open(dir)
      expect(pool.devices()).to.deep.equal([0, 1])
      expect(pool.status().usedDataBlocks).to.equal(1)
      pool.close()
      checkPool(dir)
    })

    it('sets the transaction id by compare-and-swap', () => {
      const dir = scratchDir()
      const pool = ThinPool.format(dir, {dataBlocks: 10})
      pool.setTransactionId(0, 1)
      expectFvmError(() => pool.setTransactionId(0, 2), 'conflict', /transaction id mismatch: expected 0, pool is at 1/)
      pool.createThin(4)
      expect(pool.details(4).transactionId).to.equal(1)
      pool.commit()
      pool.close()
      expect(dumpPool(dir).transaction).to.equal(1)
      checkPool(dir)
    })

    it('never reuses a data block freed in the same transaction', () => {
      const dir = scratchDir()
      const pool = ThinPool.format(dir, {dataBlocks: 4})
      pool.createThin(1)
      for (let v = 0; v < 4; v++) pool.insert(1, v, pool.allocateDataBlock())
      pool.commit()
      pool.remove(1, 0)
      expectFvmError(() => pool.allocateDataBlock(), 'noSpace', /out of data space: all 4 data blocks are in use until the blocks freed since the last commit are committed/)
      pool.commit()
      pool.insert(1, 0, pool.allocateDataBlock())
      expect(pool.lookup(1, 0)!.dataBlock).to.equal(0)
      pool.commit()
      pool.close()
      checkPool(dir)
    })
  })

  describe('I/O errors', () => {
    /** Fails every pwrite and fsync of the metadata file once armed. */
    function failingFs(): {fs: FileSystem; arm: () => void} {
      let armed = false
      const guard = <T>(fn: () => T): T => {
        if (armed) throw Object.assign(new Error('EIO: i/o error, write'), {code: 'EIO'})
        return fn()
      }
      return {
        arm: () => (armed = true),
        fs: {
          ...nodeFileSystem,
          open(p, flags) {
            const f = nodeFileSystem.open(p, flags)
            if (!p.endsWith('metadata')) return f
            return {
              path: f.path,
              pread: (buf, pos) => f.pread(buf, pos),
              pwrite: (buf, pos) => guard(() => f.pwrite(buf, pos)),
              fsync: () => guard(() => f.fsync()),
              fdatasync: () => f.fdatasync(),
              size: () => f.size(),
              truncate: (n) => f.truncate(n),
              close: () => f.close(),
            }
          },
        },
      }
    }

    it('fails the pool on a commit that cannot write, leaving the last commit intact', () => {
      const dir = scratchDir()
      ThinPool.format(dir, {dataBlocks: 1000}).close()
      const {fs: faulty, arm} = failingFs()
      const pool = ThinPool.open(dir, {fs: faulty})
      pool.createThin(1)
      pool.insert(1, 0, pool.allocateDataBlock())
      pool.commit()
      pool.createThin(2)
      arm()
      expectFvmError(() => pool.commit(), 'failure', /commit failed: EIO/)
      expectFvmError(() => pool.createThin(3), 'failure', /failed in a commit/)
      pool.close()
      const again = ThinPool.open(dir)
      expect(again.devices()).to.deep.equal([0, 1])
      again.close()
      checkPool(dir)
    })
  })

  describe('running out of metadata space', () => {
    it('refuses the next operation cleanly and can still be emptied', () => {
      const dir = scratchDir()
      const pool = ThinPool.format(dir, {dataBlocks: 100_000, metadataBlocks: 256})
      pool.createThin(1)
      let mapped = 0
      expectFvmError(
        () => {
          for (;;) {
            pool.insert(1, mapped * 2, pool.allocateDataBlock())
            mapped++
            if (mapped % 5000 === 0) pool.commit()
          }
        },
        'noSpace',
        /out of metadata space/,
      )
      pool.commit()
      expect(pool.details(1).mappedBlocks).to.equal(mapped)
      checkPool(dir)
      pool.delete(1)
      pool.commit()
      expect(pool.status().usedDataBlocks).to.equal(0)
      pool.close()
      checkPool(dir)
    })
  })

  describe('errors', () => {
    let dir: string
    let pool: ThinPool
    before(() => {
      dir = scratchDir()
      pool = ThinPool.format(dir, {dataBlocks: 100})
      pool.createThin(7)
    })
    after(() => pool.close())

    it('names the device in id errors', () => {
      expectFvmError(() => pool.createThin(7), 'conflict', /^thin device 7 already exists$/)
      expectFvmError(() => pool.createThin(0), 'usage', /thin device 0 is reserved/)
      expectFvmError(() => pool.createThin(2 ** 24), 'usage', /out of range/)
      expectFvmError(() => pool.createThin(1.5), 'usage', /out of range/)
      expectFvmError(() => pool.createSnap(8, 9), 'notFound', /thin device 9 does not exist/)
      expectFvmError(() => pool.delete(9), 'notFound', /thin device 9 does not exist/)
      expectFvmError(() => pool.delete(0), 'usage', /reserved/)
    })

    it('refuses data blocks the caller does not hold', () => {
      expectFvmError(() => pool.insert(7, 0, 5), 'usage', /data block 5 is not allocated/)
      expectFvmError(() => pool.insert(7, 0, 100), 'usage', /data block 100 is beyond the end of the pool/)
      expectFvmError(() => pool.insert(7, -1, 0), 'usage', /virtual block -1/)
    })

    it('is read only when asked, and refuses pools that need a check', () => {
      pool.commit()
      const ro = ThinPool.open(dir, {readOnly: true})
      expect(ro.devices()).to.deep.equal([0, 7])
      expectFvmError(() => ro.createThin(3), 'usage', /open read-only/)
      ro.close()
      const file = path.join(dir, 'metadata')
      const meta = fs.readFileSync(file)
      meta.writeUInt32LE(1, 4)
      fs.writeFileSync(file, meta)
      expectFvmError(() => ThinPool.open(dir), 'corrupt', /metadata block 0: bad checksum/)
      sealBlock(meta.subarray(0, 4096), SALT.superblock)
      fs.writeFileSync(file, meta)
      expectFvmError(() => ThinPool.open(dir), 'corrupt', /needs a check/)
      const checked = ThinPool.open(dir, {allowNeedsCheck: true})
      expect(checked.status()).to.include({needsCheck: true, readOnly: true})
      checked.close()
    })
  })
})
