// On-disk structures shared by both space maps (format §2.1, §5): 2-bit bitmap
// entries with the kernel's reversed bit order, index entries, the metadata space
// map's single index block, and the 32-byte sm_root kept in the superblock.
import {BLOCK_SIZE, type BlockKind} from './block-cache.js'
import type {ValueType} from './btree-types.js'
import {SALT} from './crc32c.js'
import {readU64, writeU64} from './u64.js'

export const ENTRIES_PER_BITMAP = (BLOCK_SIZE - 16) * 4
const BITMAP_HEADER_SIZE = 16

export const bitmapKind: BlockKind = {name: 'space map bitmap', salt: SALT.bitmap}

/**
 * The 2-bit code of entry i: 0, 1, 2, or 3 for "3 or more, see the overflow tree".
 * Bit 2j of the little-endian word is the high bit and bit 2j+1 the low one.
 */
export function bitmapGet(bitmap: Buffer, i: number): number {
  const byte = bitmap[BITMAP_HEADER_SIZE + (i >> 2)]
  const shift = (i & 3) << 1
  return (((byte >> shift) & 1) << 1) | ((byte >> (shift + 1)) & 1)
}

export function bitmapSet(bitmap: Buffer, i: number, code: number): void {
  const at = BITMAP_HEADER_SIZE + (i >> 2)
  const shift = (i & 3) << 1
  bitmap[at] = (bitmap[at] & ~(3 << shift)) | (((code >> 1) & 1) << shift) | ((code & 1) << (shift + 1))
}

/** A byte of four entries all with code c, by c. */
const FOUR_OF = [0x00, 0xaa, 0x55, 0xff]

/** If entries i to i + 3 (i a multiple of 4) all have code `from`, gives them code `to`; whether it did. */
export function bitmapSwapFour(bitmap: Buffer, i: number, from: number, to: number): boolean {
  const at = BITMAP_HEADER_SIZE + (i >> 2)
  if (bitmap[at] !== FOUR_OF[from]) return false
  bitmap[at] = FOUR_OF[to]
  return true
}

const ALL_USED = 0x55555555

/** The first entry in [begin, end) whose code is 0, or -1. */
export function bitmapFindFree(bitmap: Buffer, begin: number, end: number): number {
  let i = begin
  while (i < end) {
    if ((i & 15) === 0 && i + 16 <= end) {
      const w = bitmap.readUInt32LE(BITMAP_HEADER_SIZE + (i >> 2))
      if (((w | (w >>> 1)) & ALL_USED) === ALL_USED) {
        i += 16
        continue
      }
    }
    if (bitmapGet(bitmap, i) === 0) return i
    i++
  }
  return -1
}

/** Free entries of the whole bitmap, and the first of them (ENTRIES_PER_BITMAP if none). */
export function bitmapFreeSummary(bitmap: Buffer): {nrFree: number; firstFree: number} {
  let nrFree = 0
  let firstFree = ENTRIES_PER_BITMAP
  for (let off = BITMAP_HEADER_SIZE; off < BLOCK_SIZE; off += 4) {
    const w = bitmap.readUInt32LE(off)
    let free = ~(w | (w >>> 1)) & ALL_USED
    if (free === 0) continue
    if (firstFree === ENTRIES_PER_BITMAP) firstFree = (off - BITMAP_HEADER_SIZE) * 4 + (31 - Math.clz32(free & -free)) / 2
    free = free - ((free >>> 1) & 0x55555555)
    free = (free & 0x33333333) + ((free >>> 2) & 0x33333333)
    nrFree += (((free + (free >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24
  }
  return {nrFree, firstFree}
}

export interface IndexEntry {
  /** Block holding the bitmap; 0 while a new space map has not written it yet. */
  blocknr: number
  nrFree: number
  noneFreeBefore: number
}

export const INDEX_ENTRY_SIZE = 16

export function readIndexEntry(buf: Buffer, offset: number): IndexEntry {
  return {
    blocknr: readU64(buf, offset),
    nrFree: buf.readUInt32LE(offset + 8),
    noneFreeBefore: buf.readUInt32LE(offset + 12),
  }
}

export function writeIndexEntry(buf: Buffer, offset: number, e: IndexEntry): void {
  writeU64(buf, offset, e.blocknr)
  buf.writeUInt32LE(e.nrFree, offset + 8)
  buf.writeUInt32LE(e.noneFreeBefore, offset + 12)
}

export const indexEntryType: ValueType<IndexEntry> = {
  size: INDEX_ENTRY_SIZE,
  read: readIndexEntry,
  write: writeIndexEntry,
}

/** Reference counts of 3 or more live in an overflow btree of le32 values. */
export const refCountType: ValueType<number> = {
  size: 4,
  read: (buf, offset) => buf.readUInt32LE(offset),
  write: (buf, offset, value) => buf.writeUInt32LE(value, offset),
}

export const MAX_METADATA_BITMAPS = 255
/** DM_SM_METADATA_MAX_BLOCKS: what 255 bitmaps can describe. */
export const MAX_METADATA_BLOCKS = MAX_METADATA_BITMAPS * ENTRIES_PER_BITMAP

export const metadataIndexKind: BlockKind = {name: 'metadata space map index', salt: SALT.metadataIndex}

const METADATA_INDEX_HEADER_SIZE = 16

export function readMetadataIndex(block: Buffer, count: number): IndexEntry[] {
  const entries: IndexEntry[] = []
  for (let i = 0; i < count; i++) entries.push(readIndexEntry(block, METADATA_INDEX_HEADER_SIZE + INDEX_ENTRY_SIZE * i))
  return entries
}

export function writeMetadataIndex(block: Buffer, entries: readonly IndexEntry[]): void {
  block.fill(0, 4)
  entries.forEach((e, i) => writeIndexEntry(block, METADATA_INDEX_HEADER_SIZE + INDEX_ENTRY_SIZE * i, e))
}

export function bitmapCount(nrBlocks: number): number {
  return Math.ceil(nrBlocks / ENTRIES_PER_BITMAP)
}

/** The 32 meaningful bytes of a space map root in the superblock. */
export interface SmRoot {
  nrBlocks: number
  nrAllocated: number
  bitmapRoot: number
  refCountRoot: number
}

export function readSmRoot(buf: Buffer, offset: number): SmRoot {
  return {
    nrBlocks: readU64(buf, offset),
    nrAllocated: readU64(buf, offset + 8),
    bitmapRoot: readU64(buf, offset + 16),
    refCountRoot: readU64(buf, offset + 24),
  }
}

export function writeSmRoot(buf: Buffer, offset: number, root: SmRoot): void {
  writeU64(buf, offset, root.nrBlocks)
  writeU64(buf, offset + 8, root.nrAllocated)
  writeU64(buf, offset + 16, root.bitmapRoot)
  writeU64(buf, offset + 24, root.refCountRoot)
}
