// Insert or overwrite keys: one, or an ascending batch. Top-down: every full node met on
// the way down is split first, so the parent always has room for the new sibling.
// Parent keys stay exactly the first key of their child; a key below everything lowers
// keys[0] on the way.
import {FvmError} from '../../errors.js'
import {corrupt} from './block-cache.js'
import {
  btreeNodeKind,
  childAt,
  copyEntries,
  INTERNAL_NODE,
  INTERNAL_VALUE_SIZE,
  initNode,
  isLeaf,
  keyAt,
  LEAF_NODE,
  lowerBound,
  maxEntries,
  nrEntries,
  openGap,
  setChild,
  setKey,
  setNrEntries,
  truncateEntries,
  valueOffset,
  valueSize,
} from './btree-node.js'
import {MAX_DEPTH} from './btree-lookup.js'
import {shadowNode, type TreeContext, type WritableNode} from './btree-spine.js'

export interface InsertResult<V> {
  root: number
  /** The value the key had before, if any. */
  old: V | undefined
}

export function insert<V>(t: TreeContext<V>, root: number, key: number, value: V): InsertResult<V> {
  const slot = descend(t, root, key)
  return {root: slot.root, old: put(t, slot.leaf, key, () => value)}
}

/**
 * Sets each keys[i] (ascending, repeats allowed) to update(its value or undefined, i),
 * in order, and returns the new root. A key that falls in the leaf the key before it
 * went to goes straight in, so a run of nearby keys costs one descent, not one each.
 */
export function updateSorted<V>(t: TreeContext<V>, root: number, keys: readonly number[], update: (old: V | undefined, index: number) => V): number {
  let slot: LeafSlot | undefined
  keys.forEach((key, index) => {
    if (index > 0 && key < keys[index - 1]) throw new FvmError('failure', `btree batch update: key ${key} after ${keys[index - 1]}`)
    if (slot === undefined || key >= slot.high || isFull(slot.leaf)) slot = descend(t, slot?.root ?? root, key)
    put(t, slot.leaf, key, (old) => update(old, index))
  })
  return slot?.root ?? root
}

/** A writable leaf with room for one more entry, and the first key past its range. */
interface LeafSlot {
  root: number
  leaf: Buffer
  high: number
}

/** Shadows the path to key's leaf, splitting every full node on the way down. */
function descend<V>(t: TreeContext<V>, root: number, key: number): LeafSlot {
  const top = shadowNode(t, root)
  if (isFull(top.data)) splitBeneath(t, top.data, key)
  let node = top.data
  let high = Number.POSITIVE_INFINITY
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    if (isLeaf(node)) return {root: top.block, leaf: node, high}
    let i = lowerBound(node, key)
    if (i < 0) {
      i = 0
      setKey(node, 0, key)
    }
    let child = shadowNode(t, childAt(node, i))
    setChild(node, i, child.block)
    if (isFull(child.data)) {
      const sibling = splitChild(t, node, i, child.data, key)
      if (key >= keyAt(node, i + 1)) {
        child = sibling
        i++
      }
    }
    if (i + 1 < nrEntries(node)) high = keyAt(node, i + 1)
    node = child.data
  }
  throw corrupt(root, 'btree deeper than possible (a cycle?)')
}

/** Sets key in a leaf with room; returns the value it replaced. */
function put<V>(t: TreeContext<V>, leaf: Buffer, key: number, value: (old: V | undefined) => V): V | undefined {
  const i = lowerBound(leaf, key)
  if (i >= 0 && keyAt(leaf, i) === key) {
    const offset = valueOffset(leaf, i)
    const old = t.vt.read(leaf, offset)
    t.vt.write(leaf, offset, value(old))
    return old
  }
  openGap(leaf, i + 1, key)
  t.vt.write(leaf, valueOffset(leaf, i + 1), value(undefined))
  return undefined
}

function isFull(node: Buffer): boolean {
  return nrEntries(node) >= maxEntries(node)
}

/**
 * How many entries the left half keeps. Appending past the last key of the rightmost
 * node (sequential writes) keeps 2/3 on the left, so such trees end up 2/3 full
 * instead of half; the right part still gets the 1/3 minimum.
 */
function splitPoint(node: Buffer, appending: boolean): number {
  const n = nrEntries(node)
  return appending ? n - Math.floor(maxEntries(node) / 3) : Math.ceil(n / 2)
}

function newNodeLike<V>(t: TreeContext<V>, like: Buffer): WritableNode {
  const fresh = t.store.newBlock(btreeNodeKind)
  initNode(fresh.data, isLeaf(like) ? LEAF_NODE : INTERNAL_NODE, valueSize(like))
  return fresh
}

/** Moves entries [from, nr) of src into the empty node dst. */
function moveUpperPart(src: Buffer, from: number, dst: Buffer): void {
  const n = nrEntries(src)
  copyEntries(src, from, dst, 0, n - from)
  setNrEntries(dst, n - from)
  truncateEntries(src, from)
}

/** A full root becomes an internal node over two new children, keeping its block. */
function splitBeneath<V>(t: TreeContext<V>, root: Buffer, key: number): void {
  const n = nrEntries(root)
  const at = splitPoint(root, key > keyAt(root, n - 1))
  const left = newNodeLike(t, root)
  const right = newNodeLike(t, root)
  copyEntries(root, 0, left.data, 0, at)
  setNrEntries(left.data, at)
  copyEntries(root, at, right.data, 0, n - at)
  setNrEntries(right.data, n - at)
  initNode(root, INTERNAL_NODE, INTERNAL_VALUE_SIZE)
  setNrEntries(root, 2)
  setKey(root, 0, keyAt(left.data, 0))
  setChild(root, 0, left.block)
  setKey(root, 1, keyAt(right.data, 0))
  setChild(root, 1, right.block)
}

/** Splits the full child i of parent (which has room) and returns the new right sibling. */
function splitChild<V>(t: TreeContext<V>, parent: Buffer, i: number, child: Buffer, key: number): WritableNode {
  const appending = i === nrEntries(parent) - 1 && key > keyAt(child, nrEntries(child) - 1)
  const sibling = newNodeLike(t, child)
  moveUpperPart(child, splitPoint(child, appending), sibling.data)
  openGap(parent, i + 1, keyAt(sibling.data, 0))
  setChild(parent, i + 1, sibling.block)
  return sibling
}
