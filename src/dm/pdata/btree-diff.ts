// The differences between two btrees of the same kind, in key order, skipping every
// subtree the two share (the same block on both sides holds the same entries). For
// copy-on-write trees that is most of them, so the cost follows what changed, not the
// size of the trees: what incremental replication between snapshots needs.
import {corrupt} from './block-cache.js'
import {MAX_DEPTH, readNode} from './btree-lookup.js'
import {childAt, isLeaf, keyAt, NODE_HEADER_SIZE, nrEntries, valueOffset} from './btree-node.js'
import type {BlockReader, ValueType} from './btree-types.js'
import {readU64} from './u64.js'

export interface KeyDiff<V> {
  key: number
  /** The left tree's value; undefined if only the right tree has the key. */
  left: V | undefined
  /** The right tree's value; undefined if only the left tree has the key. */
  right: V | undefined
}

export interface DiffOptions<V> {
  /**
   * Whether two values count as the same (default: never, so every common key is
   * reported). It must hold for values stored as identical bytes: those are passed over
   * undecoded.
   */
  same?: (left: V, right: V) => boolean
  /** Also report keys whose values are the same, walking shared subtrees too. */
  includeSame?: boolean
}

/**
 * What is left of one node, from index on: the entries of a leaf, or the subtrees under
 * an internal node, not opened yet. Read in place, so passing over what two trees have
 * in common costs no allocation per entry or child.
 */
class Pending {
  index = 0

  constructor(
    readonly node: Buffer,
    readonly count: number,
    /** 0 for a leaf. */
    readonly height: number,
    /** Byte offset of value 0: a leaf's values, or an internal node's children. */
    readonly values: number,
  ) {}

  get isLeaf(): boolean {
    return this.height === 0
  }

  /** The key of the entry at index, or the parent's key for the child there: a lower bound of its keys. */
  get key(): number {
    return keyAt(this.node, this.index)
  }

  get child(): number {
    return readU64(this.node, this.values + 8 * this.index)
  }
}

/** One tree as a stack of partly visited nodes, the innermost on top: what is left of it, in key order. */
class Frontier<V> {
  private readonly stack: Pending[] = []

  constructor(
    private readonly reader: BlockReader,
    private readonly vt: ValueType<V>,
    root: number,
  ) {
    let height = 0
    for (let b = root; !isLeaf(readNode(reader, b, vt)); b = childAt(readNode(reader, b, vt), 0)) {
      if (++height > MAX_DEPTH) throw corrupt(root, 'btree deeper than possible (a cycle?)')
    }
    this.push(root, height)
  }

  get head(): Pending | undefined {
    return this.stack[this.stack.length - 1]
  }

  /** Passes over count entries or subtrees of the head. */
  skip(count: number): void {
    const top = this.stack[this.stack.length - 1]
    if ((top.index += count) >= top.count) this.stack.pop()
  }

  value(e: Pending): V {
    return this.vt.read(e.node, e.values + this.vt.size * e.index)
  }

  /** Opens the subtree at the head: passes over it in its parent and pushes its own node. */
  expand(): void {
    const top = this.stack[this.stack.length - 1]
    const b = top.child
    this.skip(1)
    this.push(b, top.height - 1)
  }

  private push(b: number, height: number): void {
    const node = readNode(this.reader, b, this.vt)
    if (isLeaf(node) !== (height === 0)) throw corrupt(b, 'btree leaves at different depths')
    const n = nrEntries(node)
    if (n > 0) this.stack.push(new Pending(node, n, height, valueOffset(node, 0)))
  }
}

/** How many subtrees, from each node's index on, are the same blocks: shared, so passed over unread. */
function sharedRun(a: Pending, b: Pending): number {
  const n = Math.min(a.count - a.index, b.count - b.index)
  let x = a.values + 8 * a.index
  let y = b.values + 8 * b.index
  let run = 0
  for (; run < n; run++, x += 8, y += 8) {
    if (a.node.readUInt32LE(x) !== b.node.readUInt32LE(y) || a.node.readUInt32LE(x + 4) !== b.node.readUInt32LE(y + 4)) break
  }
  return run
}

/**
 * How many entries, from each leaf's index on, have the same keys and values stored as
 * the same bytes: most of a copied leaf. A binary search over native compares of the key
 * and value arrays finds it in a few calls rather than one step per entry.
 */
function identicalRun(a: Pending, b: Pending, size: number): number {
  const keyA = NODE_HEADER_SIZE + 8 * a.index
  const keyB = NODE_HEADER_SIZE + 8 * b.index
  const valueA = a.values + size * a.index
  const valueB = b.values + size * b.index
  const prefixEqual = (n: number) =>
    a.node.compare(b.node, keyB, keyB + 8 * n, keyA, keyA + 8 * n) === 0 &&
    a.node.compare(b.node, valueB, valueB + size * n, valueA, valueA + size * n) === 0
  let low = 0
  let high = Math.min(a.count - a.index, b.count - b.index)
  if (prefixEqual(high)) return high
  // prefixEqual(low) holds and prefixEqual(high) does not.
  while (high - low > 1) {
    const mid = (low + high) >>> 1
    if (prefixEqual(mid)) low = mid
    else high = mid
  }
  return low
}

export function* diffTrees<V>(
  reader: BlockReader,
  vt: ValueType<V>,
  leftRoot: number,
  rightRoot: number,
  options: DiffOptions<V> = {},
): Generator<KeyDiff<V>> {
  const same = options.same
  const includeSame = options.includeSame ?? false
  const left = new Frontier(reader, vt, leftRoot)
  const right = new Frontier(reader, vt, rightRoot)
  const onlyLeft = (e: Pending): KeyDiff<V> => ({key: e.key, left: left.value(e), right: undefined})
  const onlyRight = (e: Pending): KeyDiff<V> => ({key: e.key, left: undefined, right: right.value(e)})
  let run: number
  for (;;) {
    const a = left.head
    const b = right.head
    if (a === undefined && b === undefined) return
    if (a === undefined || b === undefined) {
      const side = a === undefined ? right : left
      const item = (a ?? b)!
      if (!item.isLeaf) side.expand()
      else {
        const diff = a === undefined ? onlyRight(item) : onlyLeft(item)
        side.skip(1)
        yield diff
      }
    } else if (!a.isLeaf && !b.isLeaf) {
      if (!includeSame && (run = sharedRun(a, b)) > 0) {
        left.skip(run)
        right.skip(run)
      } else if (a.height !== b.height) (a.height > b.height ? left : right).expand()
      // Open the subtree that starts first until entries meet entries.
      else (a.key <= b.key ? left : right).expand()
    } else if (!a.isLeaf || !b.isLeaf) {
      // An entry against a subtree: the entry goes first if it is below all the subtree's keys.
      if (a.isLeaf && a.key < b.key) {
        const diff = onlyLeft(a)
        left.skip(1)
        yield diff
      } else if (b.isLeaf && b.key < a.key) {
        const diff = onlyRight(b)
        right.skip(1)
        yield diff
      } else (a.isLeaf ? right : left).expand()
    } else if (!includeSame && same !== undefined && (run = identicalRun(a, b, vt.size)) > 0) {
      left.skip(run)
      right.skip(run)
    } else {
      const keyA = a.key
      const keyB = b.key
      if (keyA < keyB) {
        const diff = onlyLeft(a)
        left.skip(1)
        yield diff
      } else if (keyB < keyA) {
        const diff = onlyRight(b)
        right.skip(1)
        yield diff
      } else {
        const diff = {key: keyA, left: left.value(a), right: right.value(b)}
        left.skip(1)
        right.skip(1)
        if (includeSame || same === undefined || !same(diff.left, diff.right)) yield diff
      }
    }
  }
}
