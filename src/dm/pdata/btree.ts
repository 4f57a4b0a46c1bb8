// A copy-on-write btree of u64 keys (exact JS numbers) and fixed-size values, in the
// kernel's persistent-data format. Roots are plain block numbers: every update
// returns the new root, and the old one stays valid until the next commit.
import {BtreeBuilder} from './btree-builder.js'
import {insert, type InsertResult, updateSorted} from './btree-insert.js'
import {entries, type Entry, lookup, MAX_DEPTH, readNode} from './btree-lookup.js'
import {btreeNodeKind, childAt, initNode, isLeaf, LEAF_NODE, nrEntries, valueOffset} from './btree-node.js'
import {remove, type RemoveResult} from './btree-remove.js'
import type {BlockStore, ValueType} from './btree-types.js'
import {corrupt} from './block-cache.js'

export class Btree<V> {
  constructor(
    readonly store: BlockStore,
    readonly vt: ValueType<V>,
  ) {}

  /** A new empty tree: one empty leaf. */
  empty(): number {
    const {block, data} = this.store.newBlock(btreeNodeKind)
    initNode(data, LEAF_NODE, this.vt.size)
    return block
  }

  lookup(root: number, key: number): V | undefined {
    return lookup(this.store, this.vt, root, key)
  }

  insert(root: number, key: number, value: V): InsertResult<V> {
    return insert(this, root, key, value)
  }

  /** Sets each keys[i] (ascending) to update(old value, i); returns the new root. Cheaper than an insert per key when keys share leaves. */
  updateSorted(root: number, keys: readonly number[], update: (old: V | undefined, index: number) => V): number {
    return updateSorted(this, root, keys, update)
  }

  remove(root: number, key: number): RemoveResult<V> {
    return remove(this, root, key)
  }

  /** Entries with key >= from, in order; the block cache may shrink between leaves. */
  entries(root: number, from = 0): Generator<Entry<V>> {
    return entries(this.store, this.vt, root, from, () => this.store.trim())
  }

  builder(): BtreeBuilder<V> {
    return new BtreeBuilder(this.store, this.vt)
  }

  /**
   * Drops the caller's reference to a whole tree. A node someone else still shares is
   * only decremented; a node this was the last reference to is freed, and so in turn
   * are its children (leaf values through vt.decAll).
   */
  delete(root: number): void {
    this.deleteNode(root, 0)
  }

  private deleteNode(b: number, depth: number): void {
    if (depth > MAX_DEPTH) throw corrupt(b, 'btree deeper than possible (a cycle?)')
    if (this.store.refCount(b) > 1) {
      this.store.dec(b)
      return
    }
    const node = readNode(this.store, b, this.vt)
    const n = nrEntries(node)
    if (!isLeaf(node)) {
      for (let i = 0; i < n; i++) this.deleteNode(childAt(node, i), depth + 1)
    } else if (this.vt.decAll) {
      const values = new Array<V>(n)
      for (let i = 0; i < n; i++) values[i] = this.vt.read(node, valueOffset(node, i))
      this.vt.decAll(values)
      this.store.trim()
    }
    this.store.dec(b)
  }
}
