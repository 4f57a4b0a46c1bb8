// The metadata of one open pool, as the current transaction sees it: both space maps,
// the mapping trees and the device details. It changes in memory (and in new blocks)
// only; ThinPool checks arguments first and owns the files and the commit protocol.
import {FvmError} from '../../errors.js'
import type {BlockCache} from '../pdata/block-cache.js'
import {Btree} from '../pdata/btree.js'
import type {ValueType} from '../pdata/btree-types.js'
import {DataSpaceMap} from '../pdata/space-map-disk.js'
import type {SmRoot} from '../pdata/space-map-format.js'
import {MetadataSpaceMap} from '../pdata/space-map-metadata.js'
import {TransactionManager} from '../pdata/transaction-manager.js'
import {readU64, writeU64} from '../pdata/u64.js'
import {type BlockTime, blockTimeType} from './block-time.js'
import {type DeviceDetails, deviceDetailsType} from './device-details.js'
import {decodeSuperblock, encodeSuperblock, type Superblock, superblockKind, ZERO_SM_ROOT} from './superblock.js'

export interface DeviceState {
  details: DeviceDetails
  /** Root of the device's mapping tree; the top-level tree always holds the same. */
  root: number
  /** details differ from the details tree, which gets them at commit. */
  changed: boolean
}

export interface Clock {
  time: number
  transactionId: number
}

const u64Type: ValueType<number> = {size: 8, read: readU64, write: writeU64}

export class PoolEngine {
  readonly tm: TransactionManager
  readonly dsm: DataSpaceMap
  /** Device id -> root of its mapping tree; a value holds one reference on that root. */
  readonly top: Btree<number>
  /** Virtual block -> data block and time; a value holds one reference on its data block. */
  readonly bottom: Btree<BlockTime>
  readonly detailsTree: Btree<DeviceDetails>
  private readonly devices = new Map<number, DeviceState>()
  /** Devices whose path in the top-level tree this transaction already owns (see ownTopLevelPath). */
  private readonly ownedTopPaths = new Set<number>()

  private constructor(
    cache: BlockCache,
    readonly msm: MetadataSpaceMap,
    makeDataSpaceMap: (tm: TransactionManager) => DataSpaceMap,
    public mappingRoot: number,
    public detailsRoot: number,
    public time: number,
    public transactionId: number,
    public heldRoot: number,
  ) {
    const tm = new TransactionManager(cache, msm)
    const dsm = makeDataSpaceMap(tm)
    this.tm = tm
    this.dsm = dsm
    this.bottom = new Btree(tm, {...blockTimeType, incAll: (vs) => dsm.incAll(vs.map((v) => v.dataBlock)), decAll: (vs) => dsm.decAll(vs.map((v) => v.dataBlock))})
    this.top = new Btree(tm, {...u64Type, incAll: (roots) => roots.forEach((root) => tm.inc(root)), decAll: (roots) => roots.forEach((root) => this.bottom.delete(root))})
    this.detailsTree = new Btree(tm, deviceDetailsType)
  }

  /** The transaction that starts at the committed superblock sb. */
  static load(cache: BlockCache, sb: Superblock): PoolEngine {
    const msm = MetadataSpaceMap.open(cache, sb.metadataSpaceMap)
    return new PoolEngine(
      cache,
      msm,
      (tm) => DataSpaceMap.open(tm, sb.dataSpaceMap),
      sb.dataMappingRoot,
      sb.deviceDetailsRoot,
      sb.time,
      sb.transactionId,
      sb.heldRoot,
    )
  }

  /** A fresh pool's first transaction: empty trees, all space free, block 0 for the superblock. */
  static format(cache: BlockCache, metadataBlocks: number, dataBlocks: number, clock: Clock): PoolEngine {
    const msm = MetadataSpaceMap.create(cache, metadataBlocks)
    const superblock = msm.allocate()
    if (superblock !== 0) throw new FvmError('failure', `format: superblock allocated at block ${superblock}`)
    const engine = new PoolEngine(cache, msm, (tm) => DataSpaceMap.create(tm, dataBlocks), 0, 0, clock.time, clock.transactionId, 0)
    engine.mappingRoot = engine.top.empty()
    engine.detailsRoot = engine.detailsTree.empty()
    return engine
  }

  /** The device's state, loaded from the trees on first use; undefined if there is no such device. */
  device(id: number): DeviceState | undefined {
    let d = this.devices.get(id)
    if (d !== undefined) return d
    const details = this.detailsTree.lookup(this.detailsRoot, id)
    if (details === undefined) return undefined
    const root = this.top.lookup(this.mappingRoot, id)
    if (root === undefined) throw new FvmError('corrupt', `thin device ${id} has details but no mapping tree`)
    d = {details, root, changed: false}
    this.devices.set(id, d)
    return d
  }

  deviceIds(): number[] {
    const ids: number[] = []
    for (const {key} of this.detailsTree.entries(this.detailsRoot)) ids.push(key)
    return ids
  }

  createThin(id: number): void {
    const details = {mappedBlocks: 0, transactionId: this.transactionId, creationTime: this.time, snapshottedTime: this.time}
    this.addDevice(id, this.bottom.empty(), details)
  }

  /** The kernel's __create_snap: share the origin's tree, tick the clock, stamp both devices. */
  createSnap(id: number, origin: DeviceState): void {
    this.tm.inc(origin.root)
    this.time++
    origin.details.snapshottedTime = this.time
    origin.changed = true
    this.addDevice(id, origin.root, {
      mappedBlocks: origin.details.mappedBlocks,
      transactionId: this.transactionId,
      creationTime: this.time,
      snapshottedTime: this.time,
    })
  }

  /** A new device whose tree is bulk-loaded from mappings sorted by virtual block. */
  restoreDevice(
    id: number,
    details: Omit<DeviceDetails, 'mappedBlocks'>,
    mappings: Iterable<{vblock: number} & BlockTime>,
    check: (m: {vblock: number} & BlockTime) => void,
  ): void {
    const builder = this.bottom.builder()
    for (const m of mappings) {
      check(m)
      this.dsm.inc(m.dataBlock)
      builder.add(m.vblock, {dataBlock: m.dataBlock, time: m.time})
    }
    this.addDevice(id, builder.finish(), {...details, mappedBlocks: builder.size})
  }

  deleteDevice(id: number, d: DeviceState): void {
    this.mappingRoot = this.top.remove(this.mappingRoot, id).root
    this.detailsRoot = this.detailsTree.remove(this.detailsRoot, id).root
    this.devices.delete(id)
    this.bottom.delete(d.root)
  }

  lookup(d: DeviceState, vblock: number): BlockTime | undefined {
    return this.bottom.lookup(d.root, vblock)
  }

  /** Maps vblock to dataBlock, taking over the caller's reference on dataBlock. */
  insert(id: number, d: DeviceState, vblock: number, dataBlock: number): void {
    this.ownTopLevelPath(id, d)
    const {root, old} = this.bottom.insert(d.root, vblock, {dataBlock, time: this.time})
    if (old === undefined) d.details.mappedBlocks++
    else this.dsm.dec(old.dataBlock)
    d.changed = true
    this.setRoot(id, d, root)
  }

  remove(id: number, d: DeviceState, vblock: number): boolean {
    // Owning the top-level path is a change of its own: not worth it for a block that is not mapped.
    if (!this.ownedTopPaths.has(id) && this.lookup(d, vblock) === undefined) return false
    this.ownTopLevelPath(id, d)
    const {root, old} = this.bottom.remove(d.root, vblock)
    if (old === undefined) return false
    this.dsm.dec(old.dataBlock)
    d.details.mappedBlocks--
    d.changed = true
    this.setRoot(id, d, root)
    return true
  }

  /** Copies the committed superblock into a new block and takes a reference on its two trees. */
  reserveMetadataSnap(committed: Superblock): number {
    const copy = encodeSuperblock({...committed, heldRoot: 0, dataSpaceMap: ZERO_SM_ROOT, metadataSpaceMap: ZERO_SM_ROOT})
    const held = this.tm.newBlock(superblockKind, copy).block
    this.tm.inc(committed.dataMappingRoot)
    this.tm.inc(committed.deviceDetailsRoot)
    this.ownedTopPaths.clear()
    this.heldRoot = held
    return held
  }

  releaseMetadataSnap(): void {
    const copy = decodeSuperblock(this.tm.read(this.heldRoot, superblockKind))
    this.top.delete(copy.dataMappingRoot)
    this.detailsTree.delete(copy.deviceDetailsRoot)
    this.tm.dec(this.heldRoot)
    this.heldRoot = 0
  }

  /**
   * Writes what only lives in memory into new blocks (changed device details, the data
   * space map index, then the metadata space map) and returns the two space map roots.
   * Nothing may change metadata after this until the commit is done.
   */
  prepareCommit(): {dataSpaceMap: SmRoot; metadataSpaceMap: SmRoot} {
    for (const [id, d] of this.devices) {
      if (!d.changed) continue
      this.detailsRoot = this.detailsTree.insert(this.detailsRoot, id, d.details).root
      d.changed = false
    }
    const dataSpaceMap = this.dsm.commit()
    const metadataSpaceMap = this.msm.flush(this.tm)
    return {dataSpaceMap, metadataSpaceMap}
  }

  /** The superblock from prepareCommit is on disk. */
  committed(): void {
    this.msm.flushCommitted()
    this.dsm.committed()
    this.ownedTopPaths.clear()
  }

  private addDevice(id: number, root: number, details: DeviceDetails): void {
    this.mappingRoot = this.top.insert(this.mappingRoot, id, root).root
    this.detailsRoot = this.detailsTree.insert(this.detailsRoot, id, details).root
    this.devices.set(id, {details, root, changed: false})
  }

  /**
   * Shadows the top-level path to the device before its own tree is touched, as the
   * kernel's two-level btree does. If a top-level node is shared (a held metadata
   * snapshot), copying it takes a reference on every device root in it first, so the
   * device's tree is then seen as shared and copied in turn, data references and all.
   */
  private ownTopLevelPath(id: number, d: DeviceState): void {
    if (this.ownedTopPaths.has(id)) return
    this.mappingRoot = this.top.insert(this.mappingRoot, id, d.root).root
    this.ownedTopPaths.add(id)
  }

  private setRoot(id: number, d: DeviceState, root: number): void {
    if (root === d.root) return
    d.root = root
    this.mappingRoot = this.top.insert(this.mappingRoot, id, root).root
  }
}
