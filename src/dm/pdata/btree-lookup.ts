// Read-only btree access: node validation for a given value type, point lookups and
// ordered walks. These need only a BlockReader, so they also serve the committed view
// of a space map and the checker.
import {corrupt} from './block-cache.js'
import {btreeNodeKind, childAt, isLeaf, keyAt, lowerBound, nrEntries, valueOffset, valueSize} from './btree-node.js'
import type {BlockReader, ValueType} from './btree-types.js'

/** Deeper than this means a cycle: 252-way nodes reach 2^64 keys well before. */
export const MAX_DEPTH = 12

/** A node of a tree whose leaves hold vt values. */
export function readNode(reader: BlockReader, b: number, vt: ValueType<unknown>): Buffer {
  const node = reader.read(b, btreeNodeKind)
  checkLeafValueSize(node, b, vt)
  return node
}

export function checkLeafValueSize(node: Buffer, b: number, vt: ValueType<unknown>): void {
  if (isLeaf(node) && valueSize(node) !== vt.size) {
    throw corrupt(b, `btree leaf has value size ${valueSize(node)}, expected ${vt.size}`)
  }
}

export function lookup<V>(reader: BlockReader, vt: ValueType<V>, root: number, key: number): V | undefined {
  let b = root
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    const node = readNode(reader, b, vt)
    const i = lowerBound(node, key)
    if (i < 0) return undefined
    if (isLeaf(node)) return keyAt(node, i) === key ? vt.read(node, valueOffset(node, i)) : undefined
    b = childAt(node, i)
  }
  throw corrupt(root, 'btree deeper than possible (a cycle?)')
}

export interface Entry<V> {
  key: number
  value: V
}

/**
 * Entries with key >= from, in key order. Memory is bounded by the tree depth; onLeaf
 * runs between leaves, where the caller may let the block cache shrink.
 */
export function* entries<V>(
  reader: BlockReader,
  vt: ValueType<V>,
  root: number,
  from = 0,
  onLeaf: () => void = () => {},
): Generator<Entry<V>> {
  const stack: {node: Buffer; i: number}[] = []
  let b = root
  for (;;) {
    if (stack.length > MAX_DEPTH) throw corrupt(root, 'btree deeper than possible (a cycle?)')
    const node = readNode(reader, b, vt)
    if (!isLeaf(node)) {
      const i = Math.max(0, lowerBound(node, from))
      stack.push({node, i})
      b = childAt(node, i)
      continue
    }
    const n = nrEntries(node)
    for (let i = Math.max(0, lowerBound(node, from)); i < n; i++) {
      const key = keyAt(node, i)
      if (key >= from) yield {key, value: vt.read(node, valueOffset(node, i))}
    }
    onLeaf()
    // Climb to the next unvisited child.
    for (;;) {
      const top = stack[stack.length - 1]
      if (top === undefined) return
      top.i++
      if (top.i < nrEntries(top.node)) {
        b = childAt(top.node, top.i)
        break
      }
      stack.pop()
    }
  }
}
