// Checks a pool's metadata file the way the strict thin_check 1.x does: checksums and
// block numbers of every reachable block, btree invariants (key order and ranges,
// minimum fill, value sizes, leaf depth), every metadata and data reference count
// recomputed from the trees and compared with both space maps, nr_allocated, the
// overflow trees, mapped_blocks, and the details against the mapping tree. A count
// that is too high is a leak (space lost, nothing damaged); anything else is fatal.
// Blocks are read through the bounded block cache, and expected counts take a byte per
// block, so memory stays flat whatever the number of mappings.
import {FvmError} from '../../errors.js'
import {BLOCK_SIZE, BlockCache} from '../pdata/block-cache.js'
import {checkTree, type TreeCheckContext, WalkedNodes} from '../pdata/btree-check.js'
import {keyAt, nrEntries, valueOffset} from '../pdata/btree-node.js'
import {type FileSystem, nodeFileSystem} from '../pdata/file-io.js'
import {RefCounter} from '../pdata/ref-counter.js'
import {
  bitmapCount,
  bitmapGet,
  bitmapKind,
  ENTRIES_PER_BITMAP,
  MAX_METADATA_BLOCKS,
  metadataIndexKind,
  readIndexEntry,
  readMetadataIndex,
  type SmRoot,
} from '../pdata/space-map-format.js'
import {readU64} from '../pdata/u64.js'
import {type DeviceDetails, deviceDetailsType} from './device-details.js'
import {SECTOR_SIZE} from './pool-layout.js'
import {decodeSuperblock, METADATA_BLOCK_SECTORS, type Superblock, superblockKind, THIN_VERSION} from './superblock.js'

export interface CheckIssue {
  fatal: boolean
  message: string
}

export interface CheckReport {
  /** No damage; leaks allowed. */
  ok: boolean
  /** Nothing at all to report. */
  clean: boolean
  fatal: number
  leaks: number
  /** The first issues found, up to the limit asked for. */
  issues: CheckIssue[]
  devices: number
  mappings: number
}

export interface CheckOptions {
  fs?: FileSystem
  /** How many issues to describe; all are counted. Default 100. */
  maxIssues?: number
}

export function checkMetadata(metadataPath: string, options: CheckOptions = {}): CheckReport {
  const file = (options.fs ?? nodeFileSystem).open(metadataPath, 'r')
  try {
    const checker = new Checker(options.maxIssues ?? 100)
    checker.run(file.size(), (nrBlocks) => new BlockCache(file, nrBlocks))
    return checker.report()
  } finally {
    file.close()
  }
}

/** Counts one reference to a metadata block; false (reported) if it is out of range. */
type Ref = (b: number, what: string) => boolean

interface SpaceMapParts {
  bitmaps: (number | undefined)[]
  overflow: Map<number, number>
}

class Checker {
  private readonly issues: CheckIssue[] = []
  private fatalCount = 0
  private leakCount = 0
  private devices = 0
  private mappings = 0

  constructor(private readonly maxIssues: number) {}

  report(): CheckReport {
    return {
      ok: this.fatalCount === 0,
      clean: this.fatalCount === 0 && this.leakCount === 0,
      fatal: this.fatalCount,
      leaks: this.leakCount,
      issues: this.issues,
      devices: this.devices,
      mappings: this.mappings,
    }
  }

  run(fileSize: number, cacheFor: (nrBlocks: number) => BlockCache): void {
    const fileBlocks = Math.floor(fileSize / BLOCK_SIZE)
    if (fileBlocks === 0) return this.fatal('metadata file is empty')
    const sb = this.attempt(() => decodeSuperblock(cacheFor(fileBlocks).read(0, superblockKind)))
    if (sb === undefined || !this.superblockUsable(sb, fileBlocks)) return
    const cache = cacheFor(sb.metadataSpaceMap.nrBlocks)
    const metadataRefs = new RefCounter(sb.metadataSpaceMap.nrBlocks)
    const dataRefs = new RefCounter(sb.dataSpaceMap.nrBlocks)
    const ctx: TreeCheckContext = {cache, metadataRefs, walked: new WalkedNodes(sb.metadataSpaceMap.nrBlocks), fatal: (m) => this.fatal(m)}
    const ref: Ref = (b, what) => {
      if (metadataRefs.inc(b)) return true
      this.fatal(`${what} at block ${b} is beyond the end of the metadata`)
      return false
    }
    ref(0, 'superblock')

    const metadataSm = this.metadataSpaceMap(ctx, sb.metadataSpaceMap, ref)
    const dataSm = this.dataSpaceMap(ctx, sb.dataSpaceMap, ref)

    const details = new Map<number, DeviceDetails>()
    if (ref(sb.deviceDetailsRoot, 'device details root')) {
      checkTree(ctx, sb.deviceDetailsRoot, {
        name: 'device details tree',
        kind: 'device details',
        valueSize: deviceDetailsType.size,
        onLeaf: (node) => eachEntry(node, (key, off) => details.set(key, deviceDetailsType.read(node, off))),
      })
    }
    const roots = this.topLevel(ctx, sb.dataMappingRoot, 'mapping tree', ref)
    for (const [id, root] of roots) {
      const mapped = this.deviceTree(ctx, id, root, dataRefs, sb.dataSpaceMap.nrBlocks)
      this.devices++
      this.mappings += mapped
      const d = details.get(id)
      if (d === undefined) this.fatal(`thin device ${id} has a mapping tree but no details`)
      else if (d.mappedBlocks !== mapped) this.fatal(`thin device ${id}: mapped_blocks is ${d.mappedBlocks}, but it has ${mapped} mappings`)
    }
    for (const id of details.keys()) if (!roots.has(id)) this.fatal(`thin device ${id} has details but no mapping tree`)

    if (sb.heldRoot !== 0 && ref(sb.heldRoot, 'metadata snapshot')) {
      this.metadataSnapshot(ctx, sb.heldRoot, ref, dataRefs, sb.dataSpaceMap.nrBlocks)
    }

    this.compare('metadata', cache, sb.metadataSpaceMap, metadataSm, metadataRefs)
    this.compare('data', cache, sb.dataSpaceMap, dataSm, dataRefs)
  }

  private superblockUsable(sb: Superblock, fileBlocks: number): boolean {
    if (sb.version < 1 || sb.version > THIN_VERSION) this.fatal(`superblock: unsupported version ${sb.version}`)
    if (sb.incompatFlags !== 0) this.fatal(`superblock: unsupported incompatible features 0x${sb.incompatFlags.toString(16)}`)
    if (sb.metadataBlockSize !== METADATA_BLOCK_SECTORS) this.fatal(`superblock: metadata block size ${sb.metadataBlockSize} sectors`)
    const sectors = sb.dataBlockSize
    if (sectors < 128 || sectors > 2097152 || sectors % 128 !== 0) this.fatal(`superblock: data block size ${sectors * SECTOR_SIZE} bytes`)
    const nrBlocks = sb.metadataSpaceMap.nrBlocks
    if (nrBlocks > fileBlocks || nrBlocks > MAX_METADATA_BLOCKS || nrBlocks === 0) {
      this.fatal(`metadata space map covers ${nrBlocks} blocks, the file holds ${fileBlocks}`)
      return false
    }
    return true
  }

  private metadataSpaceMap(ctx: TreeCheckContext, root: SmRoot, ref: Ref): SpaceMapParts {
    const parts: SpaceMapParts = {bitmaps: [], overflow: new Map()}
    if (ref(root.bitmapRoot, 'metadata space map index')) {
      const index = this.attempt(() => readMetadataIndex(ctx.cache.read(root.bitmapRoot, metadataIndexKind), bitmapCount(root.nrBlocks)))
      if (index) parts.bitmaps = index.map((e, i) => (ref(e.blocknr, `metadata bitmap ${i}`) ? e.blocknr : undefined))
    }
    this.overflowTree(ctx, root.refCountRoot, 'metadata', ref, parts.overflow)
    return parts
  }

  private dataSpaceMap(ctx: TreeCheckContext, root: SmRoot, ref: Ref): SpaceMapParts {
    const parts: SpaceMapParts = {bitmaps: [], overflow: new Map()}
    const expected = bitmapCount(root.nrBlocks)
    if (ref(root.bitmapRoot, 'data space map index')) {
      const keys: number[] = []
      checkTree(ctx, root.bitmapRoot, {
        name: 'data space map index',
        kind: 'data space map index',
        valueSize: 16,
        onLeaf: (node) =>
          eachEntry(node, (key, off) => {
            keys.push(key)
            const e = readIndexEntry(node, off)
            parts.bitmaps[key] = key < expected && ref(e.blocknr, `data bitmap ${key}`) ? e.blocknr : undefined
          }),
      })
      if (keys.length !== expected || keys.some((k, i) => k !== i)) {
        this.fatal(`data space map index has ${keys.length} entries, expected bitmaps 0..${expected - 1}`)
      }
    }
    this.overflowTree(ctx, root.refCountRoot, 'data', ref, parts.overflow)
    return parts
  }

  private overflowTree(ctx: TreeCheckContext, root: number, name: string, ref: Ref, into: Map<number, number>): void {
    if (!ref(root, `${name} reference count tree`)) return
    checkTree(ctx, root, {
      name: `${name} reference count tree`,
      kind: 'reference count',
      valueSize: 4,
      onLeaf: (node) => eachEntry(node, (key, off) => into.set(key, node.readUInt32LE(off))),
    })
  }

  /** The top-level mapping tree: device id -> root of the device's tree (each slot one reference). */
  private topLevel(ctx: TreeCheckContext, root: number, name: string, ref: Ref): Map<number, number> {
    const roots = new Map<number, number>()
    if (!ref(root, `${name} root`)) return roots
    checkTree(ctx, root, {
      name,
      kind: 'top-level mapping',
      valueSize: 8,
      onLeaf: (node) =>
        eachEntry(node, (id, off) => {
          const deviceRoot = readU64(node, off)
          if (ref(deviceRoot, `mapping tree of thin device ${id}`)) roots.set(id, deviceRoot)
        }),
    })
    return roots
  }

  /** Walks a device's tree, counting one data reference per value of each distinct leaf. */
  private deviceTree(ctx: TreeCheckContext, id: number, root: number, dataRefs: RefCounter, nrDataBlocks: number): number {
    return checkTree(ctx, root, {
      name: `mapping tree of thin device ${id}`,
      kind: 'mapping',
      valueSize: 8,
      onLeaf: (node, block) => {
        const n = nrEntries(node)
        const base = valueOffset(node, 0)
        for (let i = 0; i < n; i++) {
          const low = node.readUInt32LE(base + 8 * i)
          const dataBlock = node.readUInt32LE(base + 8 * i + 4) * 256 + (low >>> 24)
          if (!dataRefs.inc(dataBlock)) {
            const where = `mapping tree of thin device ${id}, block ${block}`
            this.fatal(`${where}: block ${keyAt(node, i)} maps to data block ${dataBlock}, beyond the ${nrDataBlocks} data blocks`)
          }
        }
      },
    })
  }

  private metadataSnapshot(ctx: TreeCheckContext, held: number, ref: Ref, dataRefs: RefCounter, nrDataBlocks: number): void {
    const copy = this.attempt(() => decodeSuperblock(ctx.cache.read(held, superblockKind)))
    if (copy === undefined) return
    if (ref(copy.deviceDetailsRoot, 'metadata snapshot details root')) {
      const spec = {name: 'metadata snapshot details tree', kind: 'device details', valueSize: deviceDetailsType.size}
      checkTree(ctx, copy.deviceDetailsRoot, spec)
    }
    for (const [id, root] of this.topLevel(ctx, copy.dataMappingRoot, 'metadata snapshot mapping tree', ref)) {
      this.deviceTree(ctx, id, root, dataRefs, nrDataBlocks)
    }
  }

  /** On-disk counts against the recomputed ones, overflow entries, and nr_allocated. */
  private compare(name: string, cache: BlockCache, root: SmRoot, parts: SpaceMapParts, expected: RefCounter): void {
    let allocated = 0
    const overflowSeen = new Set<number>()
    for (let i = 0; i < bitmapCount(root.nrBlocks); i++) {
      const blocknr = parts.bitmaps[i]
      const bitmap = blocknr === undefined ? undefined : this.attempt(() => cache.read(blocknr, bitmapKind), `${name} bitmap ${i}`)
      if (bitmap === undefined) continue
      const base = i * ENTRIES_PER_BITMAP
      const end = Math.min(ENTRIES_PER_BITMAP, root.nrBlocks - base)
      for (let e = 0; e < end; e++) {
        const b = base + e
        const code = bitmapGet(bitmap, e)
        let actual = code
        if (code === 3) {
          overflowSeen.add(b)
          const big = parts.overflow.get(b)
          if (big === undefined || big < 3) {
            this.fatal(`${name} block ${b}: reference count marked 3+ but the overflow tree has ${big ?? 'nothing'}`)
          }
          actual = big ?? 3
        }
        if (actual > 0) allocated++
        const want = expected.get(b)
        if (actual === want) continue
        // As thin_check 1.x: only an unreferenced block counted once is a leak (a lost
        // free); any other mismatch means the counts cannot be trusted, so it is fatal.
        if (want === 0 && actual === 1) this.leak(`${name} block ${b}: reference count 1, but nothing references it (leaked)`)
        else this.fatal(`${name} block ${b}: reference count ${actual}, but ${want} references`)
      }
      cache.trim()
    }
    for (const b of parts.overflow.keys()) {
      if (!overflowSeen.has(b)) this.fatal(`${name} block ${b}: in the overflow tree but its bitmap entry is not 3`)
    }
    // Too high only hides free space, like a leak; too low promises space that is not there.
    const claim = `${name} space map: nr_allocated is ${root.nrAllocated}, but ${allocated} blocks are in use`
    if (root.nrAllocated > allocated) this.leak(claim)
    else if (root.nrAllocated < allocated) this.fatal(claim)
  }

  private attempt<T>(fn: () => T, what?: string): T | undefined {
    try {
      return fn()
    } catch (err) {
      if (!(err instanceof FvmError)) throw err
      this.fatal(what === undefined ? err.message : `${what}: ${err.message}`)
      return undefined
    }
  }

  private fatal(message: string): void {
    this.fatalCount++
    if (this.issues.length < this.maxIssues) this.issues.push({fatal: true, message})
  }

  private leak(message: string): void {
    this.leakCount++
    if (this.issues.length < this.maxIssues) this.issues.push({fatal: false, message})
  }
}

function eachEntry(node: Buffer, fn: (key: number, valueOffset: number) => void): void {
  const n = nrEntries(node)
  for (let i = 0; i < n; i++) fn(keyAt(node, i), valueOffset(node, i))
}
