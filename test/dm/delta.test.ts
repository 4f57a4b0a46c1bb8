// thin_delta's ranges from the engine's block-by-block delta: the merging rules on
// their own, then on real pools against a model, and the plumbing around them (the
// skipping walk reads only what changed, --same reads everything, errors, the lock).
import fs from 'node:fs'
import path from 'node:path'
import {expect} from 'chai'
import {deltaRanges} from '../../src/dm/thin/delta-ranges.js'
import {type MappingDelta, ThinPool} from '../../src/dm/thin/thin-pool.js'
import type {DeltaRange} from '../../src/dm/thin/xml-delta.js'
import {nodeFileSystem, type FileSystem} from '../../src/dm/pdata/file-io.js'
import {FvmError} from '../../src/errors.js'
import {thinDelta} from '../../src/plumbing/delta.js'
import {cleanupScratchDirs, prng, scratchDir} from './helpers.js'

type Blocks = Map<number, number>

/** Per-block input for deltaRanges: [vblock, left data block or null, right data block or null]. */
function deltas(rows: [number, number | null, number | null][]): MappingDelta[] {
  const bt = (b: number | null) => (b === null ? undefined : {dataBlock: b, time: 0})
  return rows.map(([vblock, l, r]) => ({vblock, left: bt(l), right: bt(r)}))
}

/** The ranges expanded back into blocks: vblock -> [left, right] data blocks. */
function expand(ranges: DeltaRange[]): Map<number, [number | undefined, number | undefined]> {
  const out = new Map<number, [number | undefined, number | undefined]>()
  for (const r of ranges) {
    for (let i = 0; i < r.length; i++) {
      const pair: [number | undefined, number | undefined] = r.kind === 'different'
        ? [r.leftDataBegin + i, r.rightDataBegin + i]
        : r.kind === 'left_only' ? [r.dataBegin + i, undefined]
          : r.kind === 'right_only' ? [undefined, r.dataBegin + i] : [r.dataBegin + i, r.dataBegin + i]
      expect(out.has(r.begin + i), `block ${r.begin + i} in two ranges`).to.equal(false)
      out.set(r.begin + i, pair)
    }
  }
  return out
}

/** What the ranges must say about two devices' blocks, from the model. */
function expected(left: Blocks, right: Blocks, same: boolean): Map<number, [number | undefined, number | undefined]> {
  const vblocks = [...new Set([...left.keys(), ...right.keys()])].sort((a, b) => a - b)
  return new Map(vblocks.filter((v) => same || left.get(v) !== right.get(v)).map((v) => [v, [left.get(v), right.get(v)]]))
}

/** Ranges are ascending, disjoint, and maximal: no two neighbours could have been one. */
function expectMaximal(ranges: DeltaRange[]): void {
  for (let i = 1; i < ranges.length; i++) {
    const [a, b] = [ranges[i - 1], ranges[i]]
    expect(b.begin, 'ascending').to.be.at.least(a.begin + a.length)
    if (a.kind !== b.kind || b.begin !== a.begin + a.length) continue
    const follows = a.kind === 'different' && b.kind === 'different'
      ? b.leftDataBegin === a.leftDataBegin + a.length && b.rightDataBegin === a.rightDataBegin + a.length
      : a.kind !== 'different' && b.kind !== 'different' && b.dataBegin === a.dataBegin + a.length
    expect(follows, `ranges at ${a.begin} and ${b.begin} should be one`).to.equal(false)
  }
}

describe('delta ranges', () => {
  describe('merging', () => {
    it('reports nothing for no delta', () => {
      expect([...deltaRanges([])]).to.deep.equal([])
    })

    it('extends a range while the thin blocks and the data blocks both run on', () => {
      expect([...deltaRanges(deltas([[0, 10, null], [1, 11, null], [2, 12, null], [5, null, 7], [6, null, 8]]))]).to.deep.equal([
        {kind: 'left_only', begin: 0, length: 3, dataBegin: 10},
        {kind: 'right_only', begin: 5, length: 2, dataBegin: 7},
      ])
    })

    it('splits at a gap in the thin blocks, a jump in the data, or a change of kind', () => {
      expect([...deltaRanges(deltas([[0, 1, 1], [2, 3, 3], [3, 9, 9], [4, 10, 10], [5, 11, null], [6, null, 12]]))]).to.deep.equal([
        {kind: 'same', begin: 0, length: 1, dataBegin: 1},
        {kind: 'same', begin: 2, length: 1, dataBegin: 3},
        {kind: 'same', begin: 3, length: 2, dataBegin: 9},
        {kind: 'left_only', begin: 5, length: 1, dataBegin: 11},
        {kind: 'right_only', begin: 6, length: 1, dataBegin: 12},
      ])
    })

    it('extends a different range only while both sides run on', () => {
      expect([...deltaRanges(deltas([[0, 10, 20], [1, 11, 21], [2, 12, 30], [3, 40, 31], [4, 41, 32]]))]).to.deep.equal([
        {kind: 'different', begin: 0, length: 2, leftDataBegin: 10, rightDataBegin: 20},
        {kind: 'different', begin: 2, length: 1, leftDataBegin: 12, rightDataBegin: 30},
        {kind: 'different', begin: 3, length: 2, leftDataBegin: 40, rightDataBegin: 31},
      ])
    })

    it('tells same from different by data block alone, not by mapping time', () => {
      const rows = [{vblock: 0, left: {dataBlock: 4, time: 0}, right: {dataBlock: 4, time: 3}}]
      expect([...deltaRanges(rows)]).to.deep.equal([{kind: 'same', begin: 0, length: 1, dataBegin: 4}])
    })
  })

  describe('on a pool', () => {
    let dir: string
    let pool: ThinPool
    let model: Map<number, Blocks>

    /** A kernel-style write: a block the device owns is written in place, others get a new data block. */
    function write(id: number, vblock: number): void {
      const old = pool.lookup(id, vblock)
      if (old && !old.shared) return
      const b = pool.allocateDataBlock()
      pool.insert(id, vblock, b)
      model.get(id)!.set(vblock, b)
    }

    function discard(id: number, vblock: number): void {
      pool.remove(id, vblock)
      model.get(id)!.delete(vblock)
    }

    function snap(id: number, origin: number): void {
      pool.createSnap(id, origin)
      model.set(id, new Map(model.get(origin)))
    }

    function create(id: number): void {
      pool.createThin(id)
      model.set(id, new Map())
    }

    function ranges(left: number, right: number, same = false): DeltaRange[] {
      pool.commit()
      const out = [...thinDelta({pool: dir, left, right, same}).ranges]
      expectMaximal(out)
      return out
    }

    function expectDelta(left: number, right: number): void {
      for (const same of [false, true]) {
        const got = expand(ranges(left, right, same))
        expect(got, `${left} vs ${right}, same ${same}`).to.deep.equal(expected(model.get(left)!, model.get(right)!, same))
      }
    }

    beforeEach(() => {
      dir = scratchDir('fvm-delta-')
      pool = ThinPool.format(dir, {dataBlocks: 100_000})
      model = new Map([[0, new Map()]])
    })

    afterEach(() => {
      pool.close()
      cleanupScratchDirs()
    })

    it('finds nothing between a device and its untouched snapshot, or itself; --same lists it all', () => {
      create(1)
      for (let v = 0; v < 3000; v++) write(1, v)
      snap(2, 1)
      expect(ranges(1, 2)).to.deep.equal([])
      expect(ranges(1, 1)).to.deep.equal([])
      expect(ranges(1, 2, true)).to.deep.equal([{kind: 'same', begin: 0, length: 3000, dataBegin: model.get(1)!.get(0)!}])
      expectDelta(2, 1)
    })

    it('lists what changed in origin and snapshot after the snapshot, both ways round', () => {
      const random = prng(7)
      create(1)
      for (let v = 0; v < 20_000; v++) write(1, v)
      snap(2, 1)
      for (let i = 0; i < 300; i++) write(2, random(25_000))
      for (let i = 0; i < 100; i++) write(1, random(20_000))
      for (let i = 0; i < 50; i++) discard(2, random(20_000))
      const changes = ranges(1, 2)
      expect(changes.map((r) => r.kind)).to.include.members(['different', 'left_only', 'right_only'])
      expect(changes.some((r) => r.kind === 'same')).to.equal(false)
      expectDelta(1, 2)
      expectDelta(2, 1)
    })

    it('compares unrelated devices, and a device with an empty one', () => {
      create(1)
      create(2)
      create(3)
      for (let v = 0; v < 500; v++) write(1, v * 2)
      for (let v = 300; v < 1500; v++) write(2, v)
      expectDelta(1, 2)
      expectDelta(1, 3)
      expectDelta(3, 2)
      // Every other block: each its own range.
      expect(ranges(3, 1).map((r) => [r.kind, r.begin, r.length])).to.deep.equal([...Array(500).keys()].map((i) => ['right_only', i * 2, 1]))
    })

    it('reports blocks the snapshot discarded as left_only', () => {
      create(1)
      for (let v = 0; v < 1000; v++) write(1, v)
      snap(2, 1)
      for (let v = 100; v < 200; v++) discard(2, v)
      expect(ranges(1, 2)).to.deep.equal([{kind: 'left_only', begin: 100, length: 100, dataBegin: model.get(1)!.get(100)!}])
      expect(ranges(2, 1)).to.deep.equal([{kind: 'right_only', begin: 100, length: 100, dataBegin: model.get(1)!.get(100)!}])
      expectDelta(1, 2)
    })

    it('counts blocks mapped to the same data at different times as the same, as thin_delta does', () => {
      const details = {transactionId: 0, creationTime: 0, snapshottedTime: 0}
      // A snapshot ticks the pool clock to 1, so restored mappings may carry time 1.
      pool.createSnap(9, 0)
      const mappings = (time: number) => [...Array(600).keys()].map((v) => ({vblock: v, dataBlock: 1000 + v, time}))
      pool.restoreDevice(1, details, mappings(0))
      pool.restoreDevice(2, details, mappings(1))
      model.set(1, new Map(mappings(0).map((m) => [m.vblock, m.dataBlock])))
      model.set(2, new Map(model.get(1)))
      expect(ranges(1, 2)).to.deep.equal([])
      expect(ranges(1, 2, true)).to.deep.equal([{kind: 'same', begin: 0, length: 600, dataBegin: 1000}])
    })

    it('reads only what changed: shared subtrees are skipped unless same ranges are asked for', () => {
      create(1)
      for (let v = 0; v < 100_000 - 100; v++) write(1, v)
      snap(2, 1)
      for (let v = 0; v < 100_000 - 100; v += 10_000) write(2, v)
      pool.commit()
      const reads = (same: boolean): number => {
        let count = 0
        const counting: FileSystem = {
          ...nodeFileSystem,
          open(file, flags) {
            const f = nodeFileSystem.open(file, flags)
            if (path.basename(file) !== 'metadata') return f
            return Object.assign(Object.create(f) as typeof f, {pread: (buf: Buffer, at: number) => (count++, f.pread(buf, at))})
          },
        }
        const delta = thinDelta({pool: dir, left: 1, right: 2, same, fs: counting})
        const n = [...delta.ranges].length
        expect(n).to.equal(same ? 20 : 10)
        return count
      }
      // 100,000 mappings fill hundreds of leaves, read once each as the devices share them;
      // the 10 changed leaves, their copies and the paths to them cost a few dozen reads.
      const skipping = reads(false)
      expect(skipping).to.be.below(60)
      expect(reads(true)).to.be.above(10 * skipping)
    })

    it('refuses missing devices and pools, and releases the pool lock when the walk ends', () => {
      create(1)
      pool.commit()
      const fails = (fn: () => unknown, kind: FvmError['kind'], message: RegExp) => {
        expect(fn).to.throw(FvmError, message).with.property('kind', kind)
      }
      fails(() => thinDelta({pool: dir, left: 1, right: 9}), 'notFound', /thin device 9 does not exist/)
      fails(() => thinDelta({pool: dir, left: 9, right: 1}), 'notFound', /thin device 9 does not exist/)
      fails(() => thinDelta({pool: path.join(dir, 'none'), left: 1, right: 1}), 'notFound', /no pool at/)
      const delta = thinDelta({pool: dir, left: 1, right: 0})
      expect(delta).to.include({left: 1, right: 0, blockSize: 65536})
      expect([...delta.ranges]).to.deep.equal([])
      expect(fs.readdirSync(dir).sort()).to.deep.equal(['data', 'metadata'])
    })
  })
})
