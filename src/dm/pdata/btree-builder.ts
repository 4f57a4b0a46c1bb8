// Bulk load of a new btree from entries in strictly increasing key order, one level
// at a time and bottom-up, with memory bounded by the tree depth. Nodes are packed
// full, except that the last two nodes of each level share their entries evenly, so no
// node falls under the max/3 minimum. Nodes get consecutive new blocks in the order
// they complete, which makes for long sequential writes.
import {FvmError} from '../../errors.js'
import {BLOCK_SIZE} from './block-cache.js'
import {
  btreeNodeKind,
  INTERNAL_NODE,
  INTERNAL_VALUE_SIZE,
  initNode,
  keyAt,
  LEAF_NODE,
  maxEntries,
  moveTailToFront,
  nrEntries,
  setChild,
  setKey,
  setNrEntries,
  valueOffset,
} from './btree-node.js'
import type {BlockStore, ValueType} from './btree-types.js'

interface Level {
  /** The node being filled. */
  current: Buffer
  /** The last full node, kept back until we know whether current ends up underfull. */
  held: Buffer | undefined
}

export class BtreeBuilder<V> {
  private readonly levels: Level[] = []
  private count = 0
  private lastKey = -1

  constructor(
    private readonly store: BlockStore,
    private readonly vt: ValueType<V>,
  ) {}

  get size(): number {
    return this.count
  }

  add(key: number, value: V): void {
    if (key <= this.lastKey) throw new FvmError('usage', `keys out of order: ${key} after ${this.lastKey}`)
    this.lastKey = key
    this.count++
    const node = this.slot(0)
    const n = nrEntries(node)
    setKey(node, n, key)
    this.vt.write(node, valueOffset(node, n), value)
    setNrEntries(node, n + 1)
  }

  /** Writes the remaining nodes and returns the root block. */
  finish(): number {
    for (let l = 0; ; l++) {
      const level = this.level(l)
      if (level.held === undefined) return this.store.newBlock(btreeNodeKind, level.current).block
      const total = nrEntries(level.held) + nrEntries(level.current)
      if (nrEntries(level.current) < Math.floor(maxEntries(level.current) / 3)) {
        moveTailToFront(level.held, Math.floor(total / 2) - nrEntries(level.current), level.current)
      }
      this.emit(l, level.held)
      this.emit(l, level.current)
    }
  }

  private level(l: number): Level {
    while (this.levels.length <= l) this.levels.push({current: this.newNode(this.levels.length), held: undefined})
    return this.levels[l]
  }

  /** The node of level l that has room for one more entry. */
  private slot(l: number): Buffer {
    const level = this.level(l)
    if (nrEntries(level.current) < maxEntries(level.current)) return level.current
    if (level.held) this.emit(l, level.held)
    level.held = level.current
    level.current = this.newNode(l)
    return level.current
  }

  /** Gives a finished node of level l its block and adds it to level l + 1. */
  private emit(l: number, node: Buffer): void {
    const b = this.store.newBlock(btreeNodeKind, node).block
    const parent = this.slot(l + 1)
    const n = nrEntries(parent)
    setKey(parent, n, keyAt(node, 0))
    setChild(parent, n, b)
    setNrEntries(parent, n + 1)
    this.store.trim()
  }

  private newNode(l: number): Buffer {
    const node = Buffer.alloc(BLOCK_SIZE)
    if (l === 0) initNode(node, LEAF_NODE, this.vt.size)
    else initNode(node, INTERNAL_NODE, INTERNAL_VALUE_SIZE)
    return node
  }
}
