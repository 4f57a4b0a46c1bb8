// The differences between two btrees of the same kind, in key order, skipping every
// subtree the two share (the same block on both sides holds the same entries). For
// copy-on-write trees that is most of them, so the cost follows what changed, not the
// size of the trees: what incremental replication between snapshots needs.
import {corrupt} from './block-cache.js'
import {MAX_DEPTH, readNode} from './btree-lookup.js'
import {childAt, isLeaf, keyAt, nrEntries, valueOffset} from './btree-node.js'
import type {BlockReader, ValueType} from './btree-types.js'

export interface KeyDiff<V> {
  key: number
  /** The left tree's value; undefined if only the right tree has the key. */
  left: V | undefined
  /** The right tree's value; undefined if only the left tree has the key. */
  right: V | undefined
}

export interface DiffOptions<V> {
  /** Whether two values count as the same (default: never, so every common key is reported). */
  same?: (left: V, right: V) => boolean
  /** Also report keys whose values are the same, walking shared subtrees too. */
  includeSame?: boolean
}

type Item<V> = {node: number; low: number; height: number} | {key: number; value: V}

/** One tree as a stack of pending items in key order: whole subtrees, or single entries. */
class Frontier<V> {
  private readonly stack: Item<V>[] = []

  constructor(
    private readonly reader: BlockReader,
    private readonly vt: ValueType<V>,
    root: number,
  ) {
    let height = 0
    for (let b = root; !isLeaf(readNode(reader, b, vt)); b = childAt(readNode(reader, b, vt), 0)) {
      if (++height > MAX_DEPTH) throw corrupt(root, 'btree deeper than possible (a cycle?)')
    }
    this.stack.push({node: root, low: 0, height})
  }

  get head(): Item<V> | undefined {
    return this.stack[this.stack.length - 1]
  }

  pop(): void {
    this.stack.pop()
  }

  /** Replaces the subtree at the head with its children or entries. */
  expand(): void {
    const item = this.stack.pop() as {node: number; height: number}
    const node = readNode(this.reader, item.node, this.vt)
    const n = nrEntries(node)
    if (isLeaf(node) !== (item.height === 0)) throw corrupt(item.node, 'btree leaves at different depths')
    for (let i = n - 1; i >= 0; i--) {
      const key = keyAt(node, i)
      if (item.height === 0) this.stack.push({key, value: this.vt.read(node, valueOffset(node, i))})
      else this.stack.push({node: childAt(node, i), low: key, height: item.height - 1})
    }
  }
}

export function* diffTrees<V>(
  reader: BlockReader,
  vt: ValueType<V>,
  leftRoot: number,
  rightRoot: number,
  options: DiffOptions<V> = {},
): Generator<KeyDiff<V>> {
  const same = options.same ?? (() => false)
  const left = new Frontier(reader, vt, leftRoot)
  const right = new Frontier(reader, vt, rightRoot)
  for (;;) {
    const a = left.head
    const b = right.head
    if (a === undefined && b === undefined) return
    if (a !== undefined && b !== undefined && 'node' in a && 'node' in b && a.node === b.node && !options.includeSame) {
      left.pop()
      right.pop()
    } else if (a === undefined || b === undefined) {
      const side = a === undefined ? right : left
      const item = (a ?? b)!
      if ('node' in item) side.expand()
      else {
        side.pop()
        yield a === undefined ? {key: item.key, left: undefined, right: item.value} : {key: item.key, left: item.value, right: undefined}
      }
    } else if ('node' in a || 'node' in b) {
      // Open the subtree that starts first, or the taller one, until entries meet entries.
      const lowA = 'node' in a ? a.low : a.key
      const lowB = 'node' in b ? b.low : b.key
      if (!('node' in a)) {
        if (lowA < lowB) {
          left.pop()
          yield {key: a.key, left: a.value, right: undefined}
        } else right.expand()
      } else if (!('node' in b)) {
        if (lowB < lowA) {
          right.pop()
          yield {key: b.key, left: undefined, right: b.value}
        } else left.expand()
      } else if (a.height > b.height) left.expand()
      else if (b.height > a.height) right.expand()
      else if (lowA <= lowB) left.expand()
      else right.expand()
    } else if (a.key < b.key) {
      left.pop()
      yield {key: a.key, left: a.value, right: undefined}
    } else if (b.key < a.key) {
      right.pop()
      yield {key: b.key, left: undefined, right: b.value}
    } else {
      left.pop()
      right.pop()
      if (options.includeSame || !same(a.value, b.value)) yield {key: a.key, left: a.value, right: b.value}
    }
  }
}
