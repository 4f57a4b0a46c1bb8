// The on-disk layout of one btree node (format §3): a 32-byte header, max_entries
// key slots, then max_entries value slots. Plain functions over the block buffer.
import {BLOCK_SIZE, type BlockKind} from './block-cache.js'
import {SALT} from './crc32c.js'
import {readU64, writeU64} from './u64.js'

export const NODE_HEADER_SIZE = 32
export const INTERNAL_NODE = 1
export const LEAF_NODE = 2
/** Internal nodes hold child block numbers. */
export const INTERNAL_VALUE_SIZE = 8

const FLAGS = 4
const NR_ENTRIES = 16
const MAX_ENTRIES = 20
const VALUE_SIZE = 24

/** Capacity of a node with this value size: the largest multiple of 3 that fits (§3.2). */
export function maxEntriesFor(valueSize: number): number {
  return 3 * Math.floor(Math.floor((BLOCK_SIZE - NODE_HEADER_SIZE) / (8 + valueSize)) / 3)
}

export const btreeNodeKind: BlockKind = {
  name: 'btree node',
  salt: SALT.btreeNode,
  check(block) {
    const flags = block.readUInt32LE(FLAGS)
    if (flags !== INTERNAL_NODE && flags !== LEAF_NODE) return `bad flags ${flags}`
    const max = block.readUInt32LE(MAX_ENTRIES)
    const valueSize = block.readUInt32LE(VALUE_SIZE)
    if (valueSize === 0 || NODE_HEADER_SIZE + (8 + valueSize) * max > BLOCK_SIZE) return `max_entries ${max} does not fit`
    if (flags === INTERNAL_NODE && valueSize !== INTERNAL_VALUE_SIZE) return `internal node with value size ${valueSize}`
    const nr = block.readUInt32LE(NR_ENTRIES)
    if (nr > max) return `nr_entries ${nr} exceeds max_entries ${max}`
    if (flags === INTERNAL_NODE && nr === 0) return 'internal node with no entries'
    return undefined
  },
}

export function initNode(node: Buffer, flags: number, valueSize: number): void {
  node.fill(0)
  node.writeUInt32LE(flags, FLAGS)
  node.writeUInt32LE(maxEntriesFor(valueSize), MAX_ENTRIES)
  node.writeUInt32LE(valueSize, VALUE_SIZE)
}

export function isLeaf(node: Buffer): boolean {
  return node.readUInt32LE(FLAGS) === LEAF_NODE
}

export function nrEntries(node: Buffer): number {
  return node.readUInt32LE(NR_ENTRIES)
}

export function setNrEntries(node: Buffer, n: number): void {
  node.writeUInt32LE(n, NR_ENTRIES)
}

export function maxEntries(node: Buffer): number {
  return node.readUInt32LE(MAX_ENTRIES)
}

export function valueSize(node: Buffer): number {
  return node.readUInt32LE(VALUE_SIZE)
}

export function keyAt(node: Buffer, i: number): number {
  return readU64(node, NODE_HEADER_SIZE + 8 * i)
}

export function setKey(node: Buffer, i: number, key: number): void {
  writeU64(node, NODE_HEADER_SIZE + 8 * i, key)
}

export function valueOffset(node: Buffer, i: number): number {
  return NODE_HEADER_SIZE + 8 * maxEntries(node) + valueSize(node) * i
}

export function childAt(node: Buffer, i: number): number {
  return readU64(node, valueOffset(node, i))
}

export function setChild(node: Buffer, i: number, block: number): void {
  writeU64(node, valueOffset(node, i), block)
}

/** The largest i with keys[i] <= key, or -1 when key is below every key. */
export function lowerBound(node: Buffer, key: number): number {
  // Compares 32-bit halves: the hot loop of every btree operation, so no 64-bit decode.
  const keyHigh = Math.floor(key / 4294967296)
  const keyLow = key % 4294967296
  let lo = -1
  let hi = nrEntries(node)
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1
    const at = NODE_HEADER_SIZE + 8 * mid
    const high = node.readUInt32LE(at + 4)
    if (high < keyHigh || (high === keyHigh && node.readUInt32LE(at) <= keyLow)) lo = mid
    else hi = mid
  }
  return lo
}

/** Opens a gap at index i (shifting later entries right) and sets its key; the caller fills the value. */
export function openGap(node: Buffer, i: number, key: number): void {
  const nr = nrEntries(node)
  const vs = valueSize(node)
  const keys = NODE_HEADER_SIZE
  const values = valueOffset(node, 0)
  node.copyWithin(keys + 8 * (i + 1), keys + 8 * i, keys + 8 * nr)
  node.copyWithin(values + vs * (i + 1), values + vs * i, values + vs * nr)
  setKey(node, i, key)
  setNrEntries(node, nr + 1)
}

/** Removes entry i, shifting later entries left. */
export function deleteAt(node: Buffer, i: number): void {
  const nr = nrEntries(node)
  const vs = valueSize(node)
  const keys = NODE_HEADER_SIZE
  const values = valueOffset(node, 0)
  node.copyWithin(keys + 8 * i, keys + 8 * (i + 1), keys + 8 * nr)
  node.copyWithin(values + vs * i, values + vs * (i + 1), values + vs * nr)
  truncateEntries(node, nr - 1)
}

/** Drops entries [n, nr) and zeroes their slots, so no stale bytes stay behind. */
export function truncateEntries(node: Buffer, n: number): void {
  const nr = nrEntries(node)
  const vs = valueSize(node)
  node.fill(0, NODE_HEADER_SIZE + 8 * n, NODE_HEADER_SIZE + 8 * nr)
  const values = valueOffset(node, 0)
  node.fill(0, values + vs * n, values + vs * nr)
  setNrEntries(node, n)
}

/** Copies count entries from src[srcIndex..] over dst[dstIndex..] (nodes of the same shape). */
export function copyEntries(src: Buffer, srcIndex: number, dst: Buffer, dstIndex: number, count: number): void {
  const vs = valueSize(src)
  src.copy(dst, NODE_HEADER_SIZE + 8 * dstIndex, NODE_HEADER_SIZE + 8 * srcIndex, NODE_HEADER_SIZE + 8 * (srcIndex + count))
  const sv = valueOffset(src, 0)
  const dv = valueOffset(dst, 0)
  src.copy(dst, dv + vs * dstIndex, sv + vs * srcIndex, sv + vs * (srcIndex + count))
}

/** Moves the first count entries of src to the end of dst, shifting src's rest left. */
export function moveHead(src: Buffer, count: number, dst: Buffer): void {
  const nrSrc = nrEntries(src)
  const nrDst = nrEntries(dst)
  copyEntries(src, 0, dst, nrDst, count)
  setNrEntries(dst, nrDst + count)
  copyEntries(src, count, src, 0, nrSrc - count)
  truncateEntries(src, nrSrc - count)
}

/** Moves the last count entries of src to the front of dst, shifting dst's entries right. */
export function moveTailToFront(src: Buffer, count: number, dst: Buffer): void {
  const nrSrc = nrEntries(src)
  const nrDst = nrEntries(dst)
  copyEntries(dst, 0, dst, count, nrDst)
  copyEntries(src, nrSrc - count, dst, 0, count)
  setNrEntries(dst, nrDst + count)
  truncateEntries(src, nrSrc - count)
}
