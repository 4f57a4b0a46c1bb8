// The metadata space map: reference counts of the metadata blocks themselves, in
// bitmaps listed by one index block, with counts >= 3 in an overflow btree.
//
// It counts its own blocks, which is recursive: writing a count shadows a bitmap,
// which allocates a block, which changes a count. We keep the recursion out of the
// transaction: every change goes into an in-memory delta (block -> new count), and the
// on-disk bitmaps, index and overflow tree stay exactly as committed, which is also
// the "committed" view the allocator needs (a new block must be free in both). At
// commit, flush() writes the delta into shadowed bitmaps and the overflow tree. That
// shadowing changes more counts, which join the delta and are written in the next
// round, until a round changes nothing. It converges: a round can only shadow bitmaps
// not yet shadowed, and the blocks it allocates or frees have counts 0 and 1, which
// never touch the overflow tree.
import {FvmError} from '../../errors.js'
import {corrupt} from './block-cache.js'
import {Btree} from './btree.js'
import {lookup} from './btree-lookup.js'
import type {BlockReader, BlockStore} from './btree-types.js'
import {
  bitmapCount,
  bitmapFindFree,
  bitmapFreeSummary,
  bitmapGet,
  bitmapKind,
  bitmapSet,
  ENTRIES_PER_BITMAP,
  type IndexEntry,
  metadataIndexKind,
  readMetadataIndex,
  refCountType,
  type SmRoot,
  writeMetadataIndex,
} from './space-map-format.js'

interface CommittedState {
  index: IndexEntry[]
  /** 0 before the first commit of a new space map. */
  indexBlock: number
  refCountRoot: number
  nrAllocated: number
}

export class MetadataSpaceMap {
  private readonly delta = new Map<number, number>()
  /** Blocks whose new count is not yet in the bitmaps (only flush() empties it). */
  private readonly pending = new Set<number>()
  private readonly allocatedThisTransaction = new Set<number>()
  /** Blocks free at the last commit and in use now: not allocatable, not in committed nrAllocated. */
  private fresh = 0
  private cursor = 0
  private flushing = false
  private current: number
  /** What flush() wrote, which becomes the committed state once the superblock is down. */
  private flushed: CommittedState | undefined
  /** Blocks kept back from ordinary allocation so that a commit can always complete. */
  readonly reserve: number

  private constructor(
    private readonly reader: BlockReader,
    readonly nrBlocks: number,
    private committed: CommittedState,
  ) {
    this.current = committed.nrAllocated
    this.reserve = Math.min(1024, Math.max(16, Math.floor(nrBlocks / 32)))
  }

  static open(reader: BlockReader, root: SmRoot): MetadataSpaceMap {
    const index = readMetadataIndex(reader.read(root.bitmapRoot, metadataIndexKind), bitmapCount(root.nrBlocks))
    index.forEach((e, i) => {
      if (e.blocknr === 0) throw corrupt(root.bitmapRoot, `metadata space map index has no bitmap ${i}`)
    })
    return new MetadataSpaceMap(reader, root.nrBlocks, {
      index,
      indexBlock: root.bitmapRoot,
      refCountRoot: root.refCountRoot,
      nrAllocated: root.nrAllocated,
    })
  }

  /** A space map for a new device: nothing committed, every block free. */
  static create(reader: BlockReader, nrBlocks: number): MetadataSpaceMap {
    const index = Array.from({length: bitmapCount(nrBlocks)}, () => ({blocknr: 0, nrFree: ENTRIES_PER_BITMAP, noneFreeBefore: 0}))
    return new MetadataSpaceMap(reader, nrBlocks, {index, indexBlock: 0, refCountRoot: 0, nrAllocated: 0})
  }

  get nrAllocated(): number {
    return this.current
  }

  /** Blocks the allocator could still hand out in this transaction. */
  get allocatable(): number {
    return this.nrBlocks - this.committed.nrAllocated - this.fresh
  }

  isNew(b: number): boolean {
    return this.allocatedThisTransaction.has(b)
  }

  count(b: number): number {
    return this.delta.get(b) ?? this.committedCount(b)
  }

  inc(b: number): void {
    this.set(b, this.count(b) + 1)
  }

  dec(b: number): void {
    const old = this.count(b)
    if (old === 0) throw corrupt(b, 'reference count would drop below 0')
    this.set(b, old - 1)
  }

  /** A block free both at the last commit and now, with count 1. */
  allocate(): number {
    if (this.allocatable <= (this.flushing ? 0 : this.reserve)) {
      throw new FvmError('noSpace', `metadata space exhausted: ${this.nrBlocks - this.allocatable} of ${this.nrBlocks} blocks in use`)
    }
    const b = this.findFree(this.cursor, this.nrBlocks) ?? this.findFree(0, this.cursor)
    if (b === undefined) throw new FvmError('failure', 'metadata space map: free count and bitmaps disagree')
    this.cursor = b + 1
    this.allocatedThisTransaction.add(b)
    this.set(b, 1)
    return b
  }

  /**
   * Writes the transaction's counts into new bitmaps, overflow tree and index block,
   * and returns the root for the superblock. Must be the last thing to allocate or
   * free metadata blocks before the commit.
   */
  flush(store: BlockStore): SmRoot {
    this.flushing = true
    try {
      const index = this.committed.index.map((e) => ({...e}))
      // The index block is shadowed first, so its own allocation is part of what gets written.
      const indexShadow =
        this.committed.indexBlock === 0 ? store.newBlock(metadataIndexKind) : store.shadow(this.committed.indexBlock, metadataIndexKind)
      const overflow = new Btree(store, refCountType)
      let refCountRoot = this.committed.refCountRoot === 0 ? overflow.empty() : this.committed.refCountRoot
      const bitmaps = new Map<number, Buffer>()
      const bitmap = (i: number): Buffer => {
        let data = bitmaps.get(i)
        if (data === undefined) {
          const s = index[i].blocknr === 0 ? store.newBlock(bitmapKind) : store.shadow(index[i].blocknr, bitmapKind)
          index[i].blocknr = s.block
          data = s.data
          bitmaps.set(i, data)
        }
        return data
      }
      for (let i = 0; i < index.length; i++) if (index[i].blocknr === 0) bitmap(i)
      while (this.pending.size > 0) {
        const batch = [...this.pending]
        this.pending.clear()
        for (const b of batch) {
          const value = this.delta.get(b)!
          const data = bitmap(Math.floor(b / ENTRIES_PER_BITMAP))
          const entry = b % ENTRIES_PER_BITMAP
          const oldCode = bitmapGet(data, entry)
          bitmapSet(data, entry, Math.min(value, 3))
          if (value >= 3) refCountRoot = overflow.insert(refCountRoot, b, value).root
          else if (oldCode === 3) refCountRoot = overflow.remove(refCountRoot, b).root
        }
      }
      for (const [i, data] of bitmaps) {
        const {nrFree, firstFree} = bitmapFreeSummary(data)
        index[i].nrFree = nrFree
        index[i].noneFreeBefore = firstFree
      }
      writeMetadataIndex(indexShadow.data, index)
      this.flushed = {index, indexBlock: indexShadow.block, refCountRoot, nrAllocated: this.current}
      return {nrBlocks: this.nrBlocks, nrAllocated: this.current, bitmapRoot: indexShadow.block, refCountRoot}
    } finally {
      this.flushing = false
    }
  }

  /** The superblock that points at the flushed state is on disk: it is now the committed one. */
  flushCommitted(): void {
    if (this.flushed === undefined) throw new FvmError('failure', 'metadata space map committed without a flush')
    this.committed = this.flushed
    this.flushed = undefined
    this.delta.clear()
    this.allocatedThisTransaction.clear()
    this.fresh = 0
    this.cursor = 0
  }

  private set(b: number, value: number): void {
    const old = this.count(b)
    if (old === 0 && value > 0) {
      this.current++
      if (this.allocatedThisTransaction.has(b)) this.fresh++
    } else if (old > 0 && value === 0) {
      this.current--
      if (this.allocatedThisTransaction.has(b)) this.fresh--
    }
    this.delta.set(b, value)
    this.pending.add(b)
  }

  private committedCount(b: number): number {
    if (!Number.isInteger(b) || b < 0 || b >= this.nrBlocks) throw corrupt(b, `beyond the end of the metadata (${this.nrBlocks} blocks)`)
    const e = this.committed.index[Math.floor(b / ENTRIES_PER_BITMAP)]
    if (e.blocknr === 0) return 0
    const code = bitmapGet(this.reader.read(e.blocknr, bitmapKind), b % ENTRIES_PER_BITMAP)
    if (code < 3) return code
    const big = lookup(this.reader, refCountType, this.committed.refCountRoot, b)
    if (big === undefined) throw corrupt(b, 'reference count marked 3+ but missing from the overflow tree')
    return big
  }

  private findFree(begin: number, end: number): number | undefined {
    for (let b = begin; b < end; ) {
      const i = Math.floor(b / ENTRIES_PER_BITMAP)
      const base = i * ENTRIES_PER_BITMAP
      const stop = Math.min(end, base + ENTRIES_PER_BITMAP) - base
      const e = this.committed.index[i]
      if (e.blocknr !== 0 && e.nrFree === 0) {
        b = base + ENTRIES_PER_BITMAP
        continue
      }
      const data = e.blocknr === 0 ? undefined : this.reader.read(e.blocknr, bitmapKind)
      let pos = Math.max(b - base, e.blocknr === 0 ? 0 : e.noneFreeBefore)
      while (pos < stop) {
        const free = data === undefined ? pos : bitmapFindFree(data, pos, stop)
        if (free < 0) break
        const d = this.delta.get(base + free)
        if (d === undefined || d === 0) return base + free
        pos = free + 1
      }
      b = base + ENTRIES_PER_BITMAP
    }
    return undefined
  }
}
