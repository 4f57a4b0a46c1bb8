// The data space map: reference counts of the pool's data blocks, in bitmaps found
// through an index btree, with counts >= 3 in an overflow btree. Its blocks are
// ordinary metadata blocks, so unlike the metadata space map it can update its
// bitmaps directly (through shadowing). The index entries live in memory and are
// written back at commit; the bitmap blocks as of the last commit are remembered, as
// a new data block must be free both now and then (a block freed in this transaction
// may still be mapped by the committed metadata, and its data must survive a crash).
import {FvmError} from '../../errors.js'
import {corrupt} from './block-cache.js'
import {Btree} from './btree.js'
import type {BlockStore} from './btree-types.js'
import {
  bitmapCount,
  bitmapFindFree,
  bitmapGet,
  bitmapKind,
  bitmapSet,
  bitmapSwapFour,
  ENTRIES_PER_BITMAP,
  type IndexEntry,
  indexEntryType,
  refCountType,
  type SmRoot,
} from './space-map-format.js'

export class DataSpaceMap {
  private readonly indexTree: Btree<IndexEntry>
  private readonly overflow: Btree<number>
  /** Index entries at the last commit; blocknr 0 for a bitmap created since (all free then). */
  private committedIndex: IndexEntry[]
  private readonly changed = new Set<number>()
  private committedNrAllocated: number
  /** Blocks free at the last commit and in use now. */
  private fresh = 0
  private cursor = 0

  private constructor(
    private readonly store: BlockStore,
    readonly nrBlocks: number,
    private nrAllocatedNow: number,
    private readonly index: IndexEntry[],
    private indexRoot: number,
    private refCountRoot: number,
    committedIndex: IndexEntry[],
  ) {
    this.indexTree = new Btree(store, indexEntryType)
    this.overflow = new Btree(store, refCountType)
    this.committedIndex = committedIndex
    this.committedNrAllocated = nrAllocatedNow
  }

  static open(store: BlockStore, root: SmRoot): DataSpaceMap {
    const tree = new Btree(store, indexEntryType)
    const index: IndexEntry[] = []
    for (const {key, value} of tree.entries(root.bitmapRoot)) {
      if (key !== index.length) throw corrupt(root.bitmapRoot, `data space map index has entry ${key} where ${index.length} was expected`)
      index.push(value)
    }
    if (index.length !== bitmapCount(root.nrBlocks)) {
      throw corrupt(root.bitmapRoot, `data space map index has ${index.length} bitmaps, expected ${bitmapCount(root.nrBlocks)}`)
    }
    return new DataSpaceMap(store, root.nrBlocks, root.nrAllocated, index, root.bitmapRoot, root.refCountRoot, index.map((e) => ({...e})))
  }

  /** A new space map with every block free. */
  static create(store: BlockStore, nrBlocks: number): DataSpaceMap {
    const builder = new Btree(store, indexEntryType).builder()
    const index: IndexEntry[] = []
    for (let i = 0; i < bitmapCount(nrBlocks); i++) {
      const e = {blocknr: store.newBlock(bitmapKind).block, nrFree: ENTRIES_PER_BITMAP, noneFreeBefore: 0}
      index.push(e)
      builder.add(i, e)
    }
    const indexRoot = builder.finish()
    const refCountRoot = new Btree(store, refCountType).empty()
    const allFree = index.map(() => ({blocknr: 0, nrFree: ENTRIES_PER_BITMAP, noneFreeBefore: 0}))
    return new DataSpaceMap(store, nrBlocks, 0, index, indexRoot, refCountRoot, allFree)
  }

  get nrAllocated(): number {
    return this.nrAllocatedNow
  }

  /** Blocks the allocator could still hand out in this transaction. */
  get allocatable(): number {
    return this.nrBlocks - this.committedNrAllocated - this.fresh
  }

  count(b: number): number {
    this.checkRange(b)
    const code = bitmapGet(this.store.read(this.index[Math.floor(b / ENTRIES_PER_BITMAP)].blocknr, bitmapKind), b % ENTRIES_PER_BITMAP)
    return code < 3 ? code : this.overflowCount(b)
  }

  inc(b: number): void {
    this.change(b, 1)
  }

  /**
   * One more reference on each of blocks (a repeat counts again), as a copied leaf needs:
   * each bitmap is shadowed once, four entries of count 1 go to 2 as one byte, and the
   * counts of 3 and up change in one sorted pass over the overflow tree instead of a
   * descent per block.
   */
  incAll(blocks: readonly number[]): void {
    const overflowed: number[] = []
    /** Per overflowed block: it was in the overflow tree already (count 3 or more). */
    const hadOverflow: boolean[] = []
    this.forEachSorted(blocks, 1, 2, (bitmap, entry, b) => {
      const code = bitmapGet(bitmap, entry)
      // A first reference also changes the free counts: the general path does that.
      if (code === 0) this.change(b, 1)
      else if (code < 3) bitmapSet(bitmap, entry, code + 1)
      if (code >= 2) {
        overflowed.push(b)
        hadOverflow.push(code === 3)
      }
    })
    if (overflowed.length === 0) return
    this.refCountRoot = this.overflow.updateSorted(this.refCountRoot, overflowed, (old, i) => {
      if (!hadOverflow[i]) return 3
      if (old === undefined) throw this.missingOverflow(overflowed[i])
      return old + 1
    })
  }

  /**
   * One reference fewer on each of blocks (a repeat counts again), as a freed leaf
   * needs: each bitmap is shadowed once, and four entries of count 2 go to 1 as one byte.
   */
  decAll(blocks: readonly number[]): void {
    this.forEachSorted(blocks, 2, 1, (bitmap, entry, b) => {
      // Freeing changes the free counts, and counts of 3 and up live in the overflow tree: the general path does those.
      if (bitmapGet(bitmap, entry) === 2) bitmapSet(bitmap, entry, 1)
      else this.change(b, -1)
    })
  }

  /**
   * Visits blocks in ascending order, each with its bitmap (shadowed once per bitmap)
   * and its entry there; four consecutive ones from a multiple of 4 whose codes are all
   * `from` become `to` at once instead.
   */
  private forEachSorted(blocks: readonly number[], from: number, to: number, visit: (bitmap: Buffer, entry: number, b: number) => void): void {
    const sorted = Float64Array.from(blocks).sort()
    let bitmapIndex = -1
    let bitmap: Buffer | undefined
    for (let k = 0; k < sorted.length; ) {
      const b = sorted[k]
      this.checkRange(b)
      const i = Math.floor(b / ENTRIES_PER_BITMAP)
      if (bitmap === undefined || i !== bitmapIndex) {
        bitmap = this.writableBitmap(i)
        bitmapIndex = i
      }
      const entry = b % ENTRIES_PER_BITMAP
      const four = entry % 4 === 0 && sorted[k + 1] === b + 1 && sorted[k + 2] === b + 2 && sorted[k + 3] === b + 3
      if (four) this.checkRange(b + 3)
      if (four && bitmapSwapFour(bitmap, entry, from, to)) {
        k += 4
        continue
      }
      visit(bitmap, entry, b)
      k++
    }
  }

  /** Drops one reference; returns the new count (0: the block is free). */
  dec(b: number): number {
    return this.change(b, -1)
  }

  /** A block free both at the last commit and now, with count 1. */
  allocate(): number {
    if (this.allocatable <= 0) {
      const freedHere = this.nrAllocatedNow < this.nrBlocks ? ' (blocks freed since the last commit become usable after it)' : ''
      throw new FvmError('noSpace', `data space exhausted: all ${this.nrBlocks} data blocks are in use${freedHere}`)
    }
    const b = this.findFree(this.cursor, this.nrBlocks) ?? this.findFree(0, this.cursor)
    if (b === undefined) throw new FvmError('failure', 'data space map: free count and bitmaps disagree')
    this.cursor = b + 1
    this.change(b, 1)
    return b
  }

  /** Writes the changed index entries; returns the root for the superblock. */
  commit(): SmRoot {
    for (const i of [...this.changed].sort((x, y) => x - y)) this.indexRoot = this.indexTree.insert(this.indexRoot, i, this.index[i]).root
    this.changed.clear()
    return {nrBlocks: this.nrBlocks, nrAllocated: this.nrAllocatedNow, bitmapRoot: this.indexRoot, refCountRoot: this.refCountRoot}
  }

  /** The superblock with this space map's root is on disk. */
  committed(): void {
    this.committedIndex = this.index.map((e) => ({...e}))
    this.committedNrAllocated = this.nrAllocatedNow
    this.fresh = 0
    this.cursor = 0
  }

  /** Adds delta (+1 or -1) to b's count and returns the new count. */
  private change(b: number, delta: number): number {
    this.checkRange(b)
    const i = Math.floor(b / ENTRIES_PER_BITMAP)
    const entry = b % ENTRIES_PER_BITMAP
    const e = this.index[i]
    const bitmap = this.writableBitmap(i)
    const code = bitmapGet(bitmap, entry)
    const old = code < 3 ? code : this.overflowCount(b)
    const value = old + delta
    if (value < 0) throw new FvmError('corrupt', `data block ${b}: reference count would drop below 0`)
    bitmapSet(bitmap, entry, Math.min(value, 3))
    if (value >= 3) this.refCountRoot = this.overflow.insert(this.refCountRoot, b, value).root
    else if (old >= 3) this.refCountRoot = this.overflow.remove(this.refCountRoot, b).root
    if (old === 0) {
      this.nrAllocatedNow++
      e.nrFree--
      if (e.noneFreeBefore === entry) e.noneFreeBefore = entry + 1
      this.changed.add(i)
      if (this.committedFree(b)) this.fresh++
    } else if (value === 0) {
      this.nrAllocatedNow--
      e.nrFree++
      e.noneFreeBefore = Math.min(e.noneFreeBefore, entry)
      this.changed.add(i)
      if (this.committedFree(b)) this.fresh--
    }
    return value
  }

  /** Bitmap i, shadowed for this transaction. */
  private writableBitmap(i: number): Buffer {
    const e = this.index[i]
    const s = this.store.shadow(e.blocknr, bitmapKind)
    if (s.block !== e.blocknr) {
      e.blocknr = s.block
      this.changed.add(i)
    }
    return s.data
  }

  private committedFree(b: number): boolean {
    const committed = this.committedIndex[Math.floor(b / ENTRIES_PER_BITMAP)]
    if (committed.blocknr === 0 || committed.nrFree === ENTRIES_PER_BITMAP) return true
    return bitmapGet(this.store.read(committed.blocknr, bitmapKind), b % ENTRIES_PER_BITMAP) === 0
  }

  private overflowCount(b: number): number {
    const count = this.overflow.lookup(this.refCountRoot, b)
    if (count === undefined) throw this.missingOverflow(b)
    return count
  }

  private missingOverflow(b: number): FvmError {
    return new FvmError('corrupt', `data block ${b}: reference count marked 3+ but missing from the overflow tree`)
  }

  private checkRange(b: number): void {
    if (!Number.isInteger(b) || b < 0 || b >= this.nrBlocks) {
      throw new FvmError('corrupt', `data block ${b} is beyond the end of the data space map (${this.nrBlocks} blocks)`)
    }
  }

  private findFree(begin: number, end: number): number | undefined {
    for (let b = begin; b < end; ) {
      const i = Math.floor(b / ENTRIES_PER_BITMAP)
      const base = i * ENTRIES_PER_BITMAP
      const stop = Math.min(end, base + ENTRIES_PER_BITMAP) - base
      const e = this.index[i]
      if (e.nrFree > 0) {
        const now = this.store.read(e.blocknr, bitmapKind)
        const c = this.committedIndex[i]
        const sameOrAllFree = c.blocknr === 0 || c.blocknr === e.blocknr || c.nrFree === ENTRIES_PER_BITMAP
        const then = sameOrAllFree ? undefined : this.store.read(c.blocknr, bitmapKind)
        let pos = Math.max(b - base, e.noneFreeBefore)
        while (pos < stop) {
          const free = bitmapFindFree(now, pos, stop)
          if (free < 0) break
          if (then === undefined || bitmapGet(then, free) === 0) return base + free
          pos = free + 1
        }
      }
      b = base + ENTRIES_PER_BITMAP
    }
    return undefined
  }
}
