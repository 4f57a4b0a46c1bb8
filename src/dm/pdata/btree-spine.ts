// Shadowing one node on the way down a btree: copy-on-write through the block store,
// then, when the original was shared, one more reference for everything the copy
// points at (the kernel's inc_children).
import {btreeNodeKind, childAt, isLeaf, nrEntries, valueOffset} from './btree-node.js'
import {checkLeafValueSize} from './btree-lookup.js'
import type {BlockStore, ValueType} from './btree-types.js'

export interface TreeContext<V> {
  readonly store: BlockStore
  readonly vt: ValueType<V>
}

export interface WritableNode {
  block: number
  data: Buffer
}

export function shadowNode<V>(t: TreeContext<V>, b: number): WritableNode {
  const s = t.store.shadow(b, btreeNodeKind)
  checkLeafValueSize(s.data, b, t.vt)
  if (s.incChildren) incChildren(t, s.data)
  return {block: s.block, data: s.data}
}

function incChildren<V>(t: TreeContext<V>, node: Buffer): void {
  const n = nrEntries(node)
  if (!isLeaf(node)) {
    for (let i = 0; i < n; i++) t.store.inc(childAt(node, i))
  } else if (t.vt.incAll) {
    const values = new Array<V>(n)
    for (let i = 0; i < n; i++) values[i] = t.vt.read(node, valueOffset(node, i))
    t.vt.incAll(values)
  }
}
