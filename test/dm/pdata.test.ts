import {expect} from 'chai'
import {FvmError} from '../../src/errors.js'
import {BlockCache} from '../../src/dm/pdata/block-cache.js'
import {Btree} from '../../src/dm/pdata/btree.js'
import {checkTree, type TreeCheckContext, WalkedNodes} from '../../src/dm/pdata/btree-check.js'
import {diffTrees} from '../../src/dm/pdata/btree-diff.js'
import type {ValueType} from '../../src/dm/pdata/btree-types.js'
import {blockChecksum, crc32c, SALT} from '../../src/dm/pdata/crc32c.js'
import {FAILPOINT_NAMES, failpointFromSpec} from '../../src/dm/pdata/failpoints.js'
import {nodeFileSystem} from '../../src/dm/pdata/file-io.js'
import {RefCounter} from '../../src/dm/pdata/ref-counter.js'
import {DataSpaceMap} from '../../src/dm/pdata/space-map-disk.js'
import {bitmapFindFree, bitmapFreeSummary, bitmapGet, bitmapSet, ENTRIES_PER_BITMAP} from '../../src/dm/pdata/space-map-format.js'
import {MetadataSpaceMap} from '../../src/dm/pdata/space-map-metadata.js'
import {TransactionManager} from '../../src/dm/pdata/transaction-manager.js'
import {blockTimeType} from '../../src/dm/thin/block-time.js'
import {cleanupScratchDirs, prng, scratchDir} from './helpers.js'

describe('dm pdata', () => {
  after(cleanupScratchDirs)

  describe('crc32c', () => {
    it('is standard CRC-32C', () => {
      expect(crc32c(Buffer.from('123456789'))).to.equal(0xe3069283)
      const long = Buffer.alloc(1000, 7)
      expect(crc32c(long)).to.equal(crc32c(Buffer.from(long)))
    })

    it('seals blocks with the inverted CRC XOR the block type salt', () => {
      const block = Buffer.alloc(4096)
      for (let i = 0; i < block.length; i++) block[i] = (i * 31) & 0xff
      const expected = (crc32c(block.subarray(4)) ^ 0xffffffff ^ SALT.btreeNode) >>> 0
      expect(blockChecksum(block, SALT.btreeNode)).to.equal(expected)
    })
  })

  describe('failpoints', () => {
    it('parses name and name:N, and rejects anything else', () => {
      for (const name of FAILPOINT_NAMES) {
        expect(failpointFromSpec(name)).to.be.a('function')
        expect(failpointFromSpec(`${name}:3`)).to.be.a('function')
      }
      for (const bad of ['nope', 'commit.afterDataSync:0', 'commit.afterDataSync:x', '']) {
        expect(() => failpointFromSpec(bad)).to.throw(FvmError, /bad failpoint/)
      }
    })

    it('stays quiet for other names and before the Nth hit', () => {
      const fp = failpointFromSpec('commit.afterMetadataSync:3')
      fp('commit.afterMetadataSync')
      fp('commit.afterMetadataSync')
      for (let i = 0; i < 5; i++) fp('commit.afterDataSync')
    })
  })

  describe('bitmaps', () => {
    it('uses the kernel bit order (format §5.1)', () => {
      const bm = Buffer.alloc(4096)
      bitmapSet(bm, 0, 1)
      expect(bm[16]).to.equal(0x02)
      bitmapSet(bm, 0, 2)
      expect(bm[16]).to.equal(0x01)
      bitmapSet(bm, 0, 0)
      bitmapSet(bm, 7, 3)
      expect(bm.readUInt32LE(16)).to.equal(0xc000)
      for (let i = 100; i < 110; i++) bitmapSet(bm, i, 2)
      expect(bm.readUInt32LE(16 + 24)).to.equal(0x05555500)
      expect(bitmapGet(bm, 7)).to.equal(3)
      expect(bitmapGet(bm, 105)).to.equal(2)
    })

    it('finds and counts free entries', () => {
      const bm = Buffer.alloc(4096)
      for (let i = 0; i < 1000; i++) bitmapSet(bm, i, 1 + (i % 3))
      expect(bitmapFindFree(bm, 0, ENTRIES_PER_BITMAP)).to.equal(1000)
      expect(bitmapFindFree(bm, 0, 1000)).to.equal(-1)
      bitmapSet(bm, 517, 0)
      expect(bitmapFindFree(bm, 3, 1000)).to.equal(517)
      expect(bitmapFreeSummary(bm)).to.deep.equal({nrFree: ENTRIES_PER_BITMAP - 999, firstFree: 517})
    })
  })

  describe('data space map', () => {
    it('counts a batch of increments as one increment each would', () => {
      const file = nodeFileSystem.open(`${scratchDir()}/meta`, 'wx')
      file.truncate(4096 * 4096)
      const cache = new BlockCache(file, 4096, 64)
      const sm = MetadataSpaceMap.create(cache, 4096)
      sm.allocate()
      const nrBlocks = 3 * ENTRIES_PER_BITMAP
      const dsm = DataSpaceMap.create(new TransactionManager(cache, sm), nrBlocks)
      const model = new Map<number, number>()
      const random = prng(11)
      const pick = (): number => (random(2) === 0 ? random(nrBlocks) : ENTRIES_PER_BITMAP - 300 + random(600))
      const bump = (b: number): void => void model.set(b, (model.get(b) ?? 0) + 1)
      // Counts of 0 to 5 first, so the batches cross 0 -> 1, 2 -> 3 (into the overflow tree) and 3+ -> 4+.
      for (let i = 0; i < 4000; i++) {
        const b = pick()
        dsm.inc(b)
        bump(b)
      }
      for (let round = 0; round < 5; round++) {
        const batch = Array.from({length: 500 + random(2000)}, pick)
        dsm.incAll(batch)
        batch.forEach(bump)
        for (const [b, count] of model) expect(dsm.count(b), `block ${b}`).to.equal(count)
        expect(dsm.nrAllocated).to.equal(model.size)
      }
      expect([...model.values()].filter((c) => c >= 3).length).to.be.above(500)
    })

    it('counts batches of increments and decrements, runs of blocks in them, as one change each would', () => {
      const file = nodeFileSystem.open(`${scratchDir()}/meta`, 'wx')
      file.truncate(4096 * 4096)
      const cache = new BlockCache(file, 4096, 64)
      const sm = MetadataSpaceMap.create(cache, 4096)
      sm.allocate()
      // Not a multiple of 4: the last byte of the last bitmap is partly past the end.
      const nrBlocks = 2 * ENTRIES_PER_BITMAP + 10
      const dsm = DataSpaceMap.create(new TransactionManager(cache, sm), nrBlocks)
      const model = new Map<number, number>()
      const random = prng(12)
      const add = (b: number, delta: number): void => {
        const count = (model.get(b) ?? 0) + delta
        if (count === 0) model.delete(b)
        else model.set(b, count)
      }
      /** Runs of blocks (as a copied or freed leaf holds them), some crossing a bitmap's end, and loose blocks. */
      const runs = (count: number): number[] => {
        const blocks: number[] = []
        for (let r = 0; r < count; r++) {
          const length = 1 + random(300)
          const start = random(3) === 0 ? ENTRIES_PER_BITMAP - random(length) : random(nrBlocks - length)
          for (let b = start; b < start + length; b++) blocks.push(b)
          if (random(4) === 0) blocks.push(random(nrBlocks))
        }
        return blocks
      }
      const check = (): void => {
        for (const [b, count] of model) expect(dsm.count(b), `block ${b}`).to.equal(count)
        expect(dsm.nrAllocated).to.equal(model.size)
      }
      for (let round = 0; round < 12; round++) {
        const up = runs(20)
        dsm.incAll(up)
        up.forEach((b) => add(b, 1))
        check()
        // Down again, each block at most as often as it is counted: from 3+ to 2, 2 to 1, 1 to 0.
        const left = new Map(model)
        const down = runs(25).filter((b) => {
          const count = left.get(b) ?? 0
          if (count === 0) return false
          left.set(b, count - 1)
          return true
        })
        dsm.decAll(down.reverse())
        down.forEach((b) => add(b, -1))
        check()
      }
      expect([...model.values()].filter((c) => c >= 3).length, 'counts of 3 and up').to.be.above(100)
      // The free counts agree: exactly the blocks counted 0 can be allocated, then none.
      const free = new Set<number>()
      while (dsm.allocatable > 0) free.add(dsm.allocate())
      expect(free.size).to.equal(nrBlocks - model.size)
      for (const b of free) expect(model.has(b), `block ${b}`).to.equal(false)
      expect(() => dsm.allocate()).to.throw(/data space exhausted/)
      expect(() => dsm.decAll([nrBlocks - 2, nrBlocks - 1, nrBlocks, nrBlocks + 1])).to.throw(/beyond the end/)
    })
  })

  describe('block_time', () => {
    it('packs (block << 24) | time with exact 40-bit blocks', () => {
      const buf = Buffer.alloc(8)
      blockTimeType.write(buf, 0, {dataBlock: 100, time: 0})
      expect([...buf]).to.deep.equal([0, 0, 0, 0x64, 0, 0, 0, 0])
      blockTimeType.write(buf, 0, {dataBlock: 7, time: 1})
      expect([...buf]).to.deep.equal([1, 0, 0, 7, 0, 0, 0, 0])
      for (const v of [{dataBlock: 2 ** 40 - 1, time: 2 ** 24 - 1}, {dataBlock: 2 ** 33 + 5, time: 77}]) {
        blockTimeType.write(buf, 0, v)
        expect(blockTimeType.read(buf, 0)).to.deep.equal(v)
        expect(buf.readBigUInt64LE(0)).to.equal((BigInt(v.dataBlock) << 24n) | BigInt(v.time))
      }
    })
  })

  describe('btree', () => {
    /** A transaction over a scratch metadata file, and a checker for what it builds. */
    function store(): {tm: TransactionManager; validate: (root: number, vt: ValueType<unknown>) => number} {
      const file = nodeFileSystem.open(`${scratchDir()}/meta`, 'wx')
      file.truncate(4096 * 4096)
      const cache = new BlockCache(file, 4096, 64)
      const sm = MetadataSpaceMap.create(cache, 4096)
      sm.allocate()
      const tm = new TransactionManager(cache, sm)
      const validate = (root: number, vt: ValueType<unknown>): number => {
        const problems: string[] = []
        const ctx: TreeCheckContext = {cache, metadataRefs: new RefCounter(4096), walked: new WalkedNodes(4096), fatal: (m) => problems.push(m)}
        const n = checkTree(ctx, root, {name: 'tree', kind: 'test', valueSize: vt.size})
        expect(problems).to.deep.equal([])
        return n
      }
      return {tm, validate}
    }

    const types: [string, ValueType<number>][] = [
      ['8-byte', {size: 8, read: (b, o) => b.readUInt32LE(o), write: (b, o, v) => void b.writeUInt32LE(v, o)}],
      ['24-byte', {size: 24, read: (b, o) => b.readUInt32LE(o + 20), write: (b, o, v) => void b.writeUInt32LE(v, o + 20)}],
      ['16-byte', {size: 16, read: (b, o) => b.readUInt32LE(o + 8), write: (b, o, v) => void b.writeUInt32LE(v, o + 8)}],
      ['4-byte', {size: 4, read: (b, o) => b.readUInt32LE(o), write: (b, o, v) => void b.writeUInt32LE(v, o)}],
    ]

    for (const [name, vt] of types) {
      it(`keeps ${name} trees valid through random inserts and removes`, () => {
        const {tm, validate} = store()
        const tree = new Btree(tm, vt)
        const model = new Map<number, number>()
        const random = prng(name.length)
        let root = tree.empty()
        for (let round = 0; round < 4; round++) {
          for (let i = 0; i < 3000; i++) {
            const k = random(20000)
            const {root: r, old} = tree.insert(root, k, i)
            expect(old).to.equal(model.get(k))
            root = r
            model.set(k, i)
          }
          expect(validate(root, vt)).to.equal(model.size)
          for (let i = 0; i < 2600; i++) {
            const k = random(20000)
            const {root: r, old} = tree.remove(root, k)
            expect(old).to.equal(model.get(k))
            root = r
            model.delete(k)
          }
          expect(validate(root, vt)).to.equal(model.size)
          tm.trim()
        }
        const sorted = [...model].sort((a, b) => a[0] - b[0])
        expect([...tree.entries(root)].map((e) => [e.key, e.value])).to.deep.equal(sorted)
        expect([...tree.entries(root, 10000)].map((e) => e.key)).to.deep.equal(sorted.map(([k]) => k).filter((k) => k >= 10000))
        for (const [k] of sorted) root = tree.remove(root, k).root
        expect(validate(root, vt)).to.equal(0)
      })

      it(`updates ${name} trees in sorted batches as single inserts would`, () => {
        const {tm, validate} = store()
        const tree = new Btree(tm, vt)
        const model = new Map<number, number>()
        const random = prng(name.length + 7)
        let root = tree.empty()
        // Batches of every size: clustered and spread keys, repeats, keys below everything (the tree starts at 5000).
        for (const [count, span] of [[1, 10], [40, 10_000], [3000, 20_000], [500, 600], [2000, 5000], [10, 200_000]]) {
          const keys = Array.from({length: count}, () => 5000 - 100 + random(span)).sort((a, b) => a - b)
          const seen: (number | undefined)[] = []
          root = tree.updateSorted(root, keys, (old, i) => {
            seen.push(old)
            return (old ?? 0) + 1 + (keys[i] % 7)
          })
          keys.forEach((k, i) => {
            expect(seen[i], `old value of key ${k}`).to.equal(model.get(k))
            model.set(k, (model.get(k) ?? 0) + 1 + (k % 7))
          })
          expect(validate(root, vt)).to.equal(model.size)
          tm.trim()
        }
        const sorted = [...model].sort((a, b) => a[0] - b[0])
        expect([...tree.entries(root)].map((e) => [e.key, e.value])).to.deep.equal(sorted)
        expect(() => tree.updateSorted(root, [9, 3], () => 0)).to.throw(FvmError, /key 3 after 9/)
      })

      it(`bulk loads ${name} trees of every awkward size at or above the minimum fill`, () => {
        const {tm, validate} = store()
        const tree = new Btree(tm, vt)
        for (const n of [0, 1, 83, 252, 253, 336, 337, 505, 4000, 64_000]) {
          const b = tree.builder()
          for (let k = 0; k < n; k++) b.add(k * 3, k)
          const root = b.finish()
          expect(validate(root, vt), `${n} entries`).to.equal(n)
          expect(tree.lookup(root, (n - 1) * 3)).to.equal(n === 0 ? undefined : n - 1)
          tree.delete(root)
        }
        expect(() => {
          const b = tree.builder()
          b.add(5, 0)
          b.add(5, 1)
        }).to.throw(FvmError, /keys out of order/)
      })
    }

    it('diffs two trees reading only what is not shared', () => {
      const {tm} = store()
      const vt = types[0][1]
      const tree = new Btree(tm, vt)
      const b = tree.builder()
      for (let k = 0; k < 50_000; k++) b.add(k, k)
      const base = b.finish()
      tm.inc(base)
      let changed = base
      for (const k of [7, 20_000, 20_001, 49_999]) changed = tree.insert(changed, k, -1 >>> 0).root
      changed = tree.remove(changed, 30_000).root
      changed = tree.insert(changed, 60_000, 1).root
      let reads = 0
      const counting = {read: (blk: number, kind: Parameters<typeof tm.read>[1]) => (reads++, tm.read(blk, kind))}
      const diffs = [...diffTrees(counting, vt, base, changed, {same: (x, y) => x === y})]
      expect(diffs.map((d) => [d.key, d.left, d.right])).to.deep.equal([
        [7, 7, 4294967295],
        [20_000, 20_000, 4294967295],
        [20_001, 20_001, 4294967295],
        [30_000, 30_000, undefined],
        [49_999, 49_999, 4294967295],
        [60_000, undefined, 1],
      ])
      expect(reads).to.be.below(40)
      expect([...diffTrees(tm, vt, base, changed, {same: (x, y) => x === y, includeSame: true})]).to.have.length(50_001)
    })

    it('appends sequential keys into 2/3-full nodes', () => {
      const {tm, validate} = store()
      const tree = new Btree(tm, types[0][1])
      let root = tree.empty()
      for (let k = 0; k < 50_000; k++) root = tree.insert(root, k, k).root
      expect(validate(root, types[0][1])).to.equal(50_000)
      expect(tm.sm.nrAllocated).to.be.below(50_000 / 160)
    })
  })
})
