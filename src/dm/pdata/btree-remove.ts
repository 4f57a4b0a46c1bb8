// Remove one key, keeping every non-root node at >= max_entries/3 entries (thin_check
// enforces it). Top-down like the kernel: before descending into a child that holds
// only the minimum, merge it with a sibling or even the two out, so the child can lose
// an entry (directly, or through a merge one level down) and still hold the minimum.
// An internal root left with one child gives way to that child.
import {MAX_DEPTH, lookup} from './btree-lookup.js'
import {
  btreeNodeKind,
  childAt,
  deleteAt,
  isLeaf,
  keyAt,
  lowerBound,
  maxEntries,
  moveHead,
  moveTailToFront,
  nrEntries,
  setChild,
  setKey,
  valueOffset,
} from './btree-node.js'
import {shadowNode, type TreeContext, type WritableNode} from './btree-spine.js'
import {corrupt} from './block-cache.js'

export interface RemoveResult<V> {
  root: number
  /** The removed value, or undefined if the key was not there (and nothing changed). */
  old: V | undefined
}

export function remove<V>(t: TreeContext<V>, root: number, key: number): RemoveResult<V> {
  if (lookup(t.store, t.vt, root, key) === undefined) return {root, old: undefined}
  let top = collapse(t, shadowNode(t, root))
  let node = top.data
  const path: {node: Buffer; i: number}[] = []
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    if (isLeaf(node)) {
      const i = lowerBound(node, key)
      const old = t.vt.read(node, valueOffset(node, i))
      deleteAt(node, i)
      if (i === 0 && nrEntries(node) > 0) fixParentKeys(path, keyAt(node, 0))
      return {root: top.block, old}
    }
    let i = lowerBound(node, key)
    const child = t.store.read(childAt(node, i), btreeNodeKind)
    if (nrEntries(child) <= Math.floor(maxEntries(child) / 3) && nrEntries(node) > 1) {
      rebalance(t, node, i)
      if (path.length === 0 && nrEntries(node) === 1) {
        top = collapse(t, top)
        node = top.data
        continue
      }
      i = lowerBound(node, key)
    }
    const next = shadowNode(t, childAt(node, i))
    setChild(node, i, next.block)
    path.push({node, i})
    node = next.data
  }
  throw corrupt(root, 'btree deeper than possible (a cycle?)')
}

/** While the root is an internal node with a single child, that child becomes the root. */
function collapse<V>(t: TreeContext<V>, top: WritableNode): WritableNode {
  while (!isLeaf(top.data) && nrEntries(top.data) === 1) {
    const child = shadowNode(t, childAt(top.data, 0))
    // The old root is our own shadow: freeing it hands its one child reference to the caller.
    t.store.dec(top.block)
    top = child
  }
  return top
}

/** Child i of parent is at the minimum: merge it with a sibling, or share entries evenly. */
function rebalance<V>(t: TreeContext<V>, parent: Buffer, i: number): void {
  const li = i + 1 < nrEntries(parent) ? i : i - 1
  const ri = li + 1
  const left = shadowNode(t, childAt(parent, li))
  setChild(parent, li, left.block)
  const right = shadowNode(t, childAt(parent, ri))
  setChild(parent, ri, right.block)
  const nl = nrEntries(left.data)
  const nr = nrEntries(right.data)
  if (nl + nr <= Math.min(maxEntries(left.data), maxEntries(right.data))) {
    moveHead(right.data, nr, left.data)
    deleteAt(parent, ri)
    // right is our own empty shadow now; its entries (and their references) live in left.
    t.store.dec(right.block)
    return
  }
  const targetLeft = Math.floor((nl + nr) / 2)
  if (nl > targetLeft) moveTailToFront(left.data, nl - targetLeft, right.data)
  else if (nl < targetLeft) moveHead(right.data, targetLeft - nl, left.data)
  setKey(parent, ri, keyAt(right.data, 0))
}

/** The leaf's first key changed: so does its parent key, and theirs while it is a first child. */
function fixParentKeys(path: {node: Buffer; i: number}[], key: number): void {
  for (let k = path.length - 1; k >= 0; k--) {
    setKey(path[k].node, path[k].i, key)
    if (path[k].i !== 0) return
  }
}
