// Checking one btree the way thin_check does: every node's checksum, block number,
// header, key order, key range within its parent, minimum fill (max/3 except at a
// root), leaf value size and leaf depth. Every child pointer is counted into the
// expected metadata reference counts; a node reached again (shared) is counted but not
// walked again. Problems are reported, never thrown.
import {FvmError} from '../../errors.js'
import type {BlockCache} from './block-cache.js'
import {btreeNodeKind, childAt, isLeaf, keyAt, maxEntries, nrEntries, valueSize} from './btree-node.js'
import type {RefCounter} from './ref-counter.js'

export interface TreeCheckContext {
  readonly cache: BlockCache
  /** Expected metadata reference counts. */
  readonly metadataRefs: RefCounter
  readonly walked: WalkedNodes
  fatal(message: string): void
}

/**
 * Nodes already walked: the kind of tree each was walked as, and the entries under it,
 * for shared nodes. Five bytes per metadata block, whatever the number of nodes.
 */
export class WalkedNodes {
  private readonly kinds: Uint8Array
  private readonly entries: Uint32Array
  private readonly kindNames: string[] = ['']

  constructor(nrBlocks: number) {
    this.kinds = new Uint8Array(nrBlocks)
    this.entries = new Uint32Array(nrBlocks)
  }

  get(b: number): {kind: string; entries: number} | undefined {
    const k = this.kinds[b]
    return k === 0 ? undefined : {kind: this.kindNames[k], entries: this.entries[b]}
  }

  set(b: number, kind: string, entries: number): void {
    let k = this.kindNames.indexOf(kind)
    if (k < 0) k = this.kindNames.push(kind) - 1
    this.kinds[b] = k
    this.entries[b] = entries
  }
}

export interface TreeSpec {
  /** What the tree is, for messages: "mapping tree of thin device 3". */
  name: string
  /** Which kind of tree; one node may only be shared between trees of the same kind. */
  kind: string
  valueSize: number
  /** Runs once for each distinct leaf. */
  onLeaf?: (node: Buffer, block: number) => void
}

/**
 * Checks the tree under root (whose own reference the caller has counted) and returns
 * the number of entries in it, or 0 where it is unreadable.
 */
export function checkTree(ctx: TreeCheckContext, root: number, spec: TreeSpec): number {
  let leafDepth = -1
  const visit = (b: number, depth: number, low: number, high: number, isRoot: boolean): number => {
    const known = ctx.walked.get(b)
    if (known !== undefined) {
      if (known.kind !== spec.kind) ctx.fatal(`${spec.name}: block ${b} is also part of a ${known.kind} tree`)
      return known.entries
    }
    if (depth > 12) {
      ctx.fatal(`${spec.name}: deeper than possible at block ${b} (a cycle?)`)
      return 0
    }
    ctx.walked.set(b, spec.kind, 0)
    try {
      return visitNode(b, depth, low, high, isRoot)
    } catch (err) {
      if (!(err instanceof FvmError)) throw err
      ctx.fatal(`${spec.name}: ${err.message}`)
      return 0
    }
  }
  const visitNode = (b: number, depth: number, low: number, high: number, isRoot: boolean): number => {
    const node = ctx.cache.read(b, btreeNodeKind)
    const n = nrEntries(node)
    const max = maxEntries(node)
    const where = `${spec.name}, block ${b}`
    if (max % 3 !== 0) ctx.fatal(`${where}: max_entries ${max} is not divisible by 3`)
    if (!isRoot && n < Math.floor(max / 3)) ctx.fatal(`${where}: too few entries (${n}, at least ${Math.floor(max / 3)})`)
    const leaf = isLeaf(node)
    if (leaf && valueSize(node) !== spec.valueSize) ctx.fatal(`${where}: value size ${valueSize(node)}, expected ${spec.valueSize}`)
    let last = -1
    for (let i = 0; i < n; i++) {
      const k = keyAt(node, i)
      if (k <= last) ctx.fatal(`${where}: keys out of order (${k} after ${last})`)
      if (k < low || k >= high) ctx.fatal(`${where}: key ${k} outside its parent's range ${low}..${high - 1}`)
      last = k
    }
    if (leaf) {
      if (leafDepth === -1) leafDepth = depth
      else if (leafDepth !== depth) ctx.fatal(`${where}: leaf at depth ${depth}, others at ${leafDepth}`)
      spec.onLeaf?.(node, b)
      ctx.walked.set(b, spec.kind, n)
      ctx.cache.trim()
      return n
    }
    let total = 0
    for (let i = 0; i < n; i++) {
      const child = childAt(node, i)
      const childLow = keyAt(node, i)
      const childHigh = i + 1 < n ? keyAt(node, i + 1) : high
      if (!ctx.metadataRefs.inc(child)) {
        ctx.fatal(`${where}: child ${child} is beyond the end of the metadata`)
        continue
      }
      total += visit(child, depth + 1, childLow, childHigh, false)
    }
    ctx.walked.set(b, spec.kind, total)
    return total
  }
  return visit(root, 0, 0, Number.MAX_SAFE_INTEGER + 1, true)
}
