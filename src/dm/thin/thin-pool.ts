// A dm-thin pool kept in userspace: a directory with a `metadata` file in the kernel's
// own metadata format, byte for byte, and a sparse `data` file of data blocks. It
// offers the kernel's pool messages (create_thin, create_snap, delete,
// set_transaction_id, metadata snapshots) plus what the kernel does for thin I/O
// (lookup, insert, remove, data block allocation), in explicit transactions.
//
// Changes are made in new blocks and become durable at commit(); close() does not
// commit. An operation that fails part way (metadata full, damage found) rolls the pool
// back to its last commit; a failed commit leaves the pool unusable until reopened.
import {FvmError} from '../../errors.js'
import {BLOCK_SIZE, BlockCache} from '../pdata/block-cache.js'
import {type Failpoint, noFailpoint} from '../pdata/failpoints.js'
import {type FileSystem, nodeFileSystem, type PoolFile} from '../pdata/file-io.js'
import {diffTrees} from '../pdata/btree-diff.js'
import {type BlockTime, blockTimeType, MAX_TIME} from './block-time.js'
import type {DeviceDetails} from './device-details.js'
import {type Clock, type DeviceState, PoolEngine} from './pool-engine.js'
import {
  checkDataBlockCount,
  checkMetadataBlockCount,
  dataBlockSectors,
  DEFAULT_DATA_BLOCK_SIZE,
  metadataBlocksFor,
  poolPaths,
  SECTOR_SIZE,
} from './pool-layout.js'
import {
  decodeSuperblock,
  encodeSuperblock,
  METADATA_BLOCK_SECTORS,
  NEEDS_CHECK_FLAG,
  SUPERBLOCK_LOCATION,
  type Superblock,
  superblockKind,
  THIN_VERSION,
  ZERO_SM_ROOT,
} from './superblock.js'

export const MAX_DEVICE_ID = 2 ** 24 - 1
/** Created at format time and never used for a volume (in a cluster it holds blocks this host does not own). */
export const RESERVED_DEVICE_ID = 0
/** Metadata blocks one operation may need beyond the commit reserve. */
const OPERATION_METADATA_BLOCKS = 64
/** Less for operations that free space, so a full pool can still be emptied. */
const FREEING_OPERATION_METADATA_BLOCKS = 8

export interface FormatOptions {
  dataBlocks: number
  /** Bytes: a multiple of 64 KiB up to 1 GiB (default 64 KiB). */
  dataBlockSize?: number
  /** Metadata size in 4 KiB blocks; default the kernel's rule (48 bytes per data block, at least 2 MiB). */
  metadataBlocks?: number
  /** Where the clocks start (restoring a dump); default 0 and 0. */
  clock?: Clock
  /** Create the reserved device 0 (default true; a restored dump brings its own). */
  reserveDevice0?: boolean
  fs?: FileSystem
  failpoint?: Failpoint
  /** Metadata blocks to cache (default 8192: 32 MiB). */
  cacheBlocks?: number
}

export interface OpenOptions {
  fs?: FileSystem
  failpoint?: Failpoint
  readOnly?: boolean
  /** Open a pool whose needs_check flag is set; it is then read only, as in the kernel. */
  allowNeedsCheck?: boolean
  cacheBlocks?: number
}

export interface ThinDevice extends DeviceDetails {
  id: number
}

export interface Mapping extends BlockTime {
  vblock: number
}

export interface LookupResult extends BlockTime {
  /** The kernel's test: the device was snapshotted after the block was mapped, so a write must copy it. */
  shared: boolean
}

/** One block where two devices differ (or agree, if asked): what each maps it to. */
export interface MappingDelta {
  vblock: number
  left: BlockTime | undefined
  right: BlockTime | undefined
}

export interface PoolStatus {
  transactionId: number
  time: number
  usedMetadataBlocks: number
  totalMetadataBlocks: number
  usedDataBlocks: number
  totalDataBlocks: number
  /** Block of the held metadata snapshot, if any. */
  heldRoot: number | undefined
  needsCheck: boolean
  readOnly: boolean
}

export class ThinPool {
  private dirty = false
  /** Bumped by every change, so iterators notice they are stale. */
  private generation = 0
  private failure: unknown = undefined
  private closed = false

  private constructor(
    readonly dir: string,
    private readonly metadataFile: PoolFile,
    /** The data blocks, for volume I/O; block b is at byte b * dataBlockSize. */
    readonly dataFile: PoolFile,
    private readonly cache: BlockCache,
    private committedSb: Superblock,
    private engine: PoolEngine,
    private readonly failpoint: Failpoint,
    readonly readOnly: boolean,
  ) {}

  static format(dir: string, options: FormatOptions): ThinPool {
    const fs = options.fs ?? nodeFileSystem
    const blockBytes = options.dataBlockSize ?? DEFAULT_DATA_BLOCK_SIZE
    const sectors = dataBlockSectors(blockBytes)
    checkDataBlockCount(options.dataBlocks)
    const metadataBlocks = options.metadataBlocks ?? metadataBlocksFor(options.dataBlocks)
    checkMetadataBlockCount(metadataBlocks)
    const clock = options.clock ?? {time: 0, transactionId: 0}
    checkTime(clock.time)
    checkTransactionId(clock.transactionId)
    const paths = poolPaths(dir)
    if (!fs.exists(dir)) throw new FvmError('notFound', `pool directory "${dir}" does not exist`)
    if (fs.exists(paths.metadata) || fs.exists(paths.data)) throw new FvmError('conflict', `pool "${dir}" already exists`)
    // Build under temporary names, so a crash never leaves a half-formatted pool behind.
    const tmp = {metadata: `${paths.metadata}.new`, data: `${paths.data}.new`}
    for (const p of [tmp.metadata, tmp.data]) if (fs.exists(p)) fs.unlink(p)
    const files: PoolFile[] = []
    try {
      const dataFile = fs.open(tmp.data, 'wx')
      files.push(dataFile)
      const metadataFile = fs.open(tmp.metadata, 'wx')
      files.push(metadataFile)
      dataFile.truncate(options.dataBlocks * blockBytes)
      metadataFile.truncate(metadataBlocks * BLOCK_SIZE)
      const cache = new BlockCache(metadataFile, metadataBlocks, options.cacheBlocks)
      const engine = PoolEngine.format(cache, metadataBlocks, options.dataBlocks, clock)
      const template: Superblock = {
        flags: 0,
        uuid: Buffer.alloc(16),
        version: THIN_VERSION,
        time: clock.time,
        transactionId: clock.transactionId,
        heldRoot: 0,
        dataSpaceMap: ZERO_SM_ROOT,
        metadataSpaceMap: ZERO_SM_ROOT,
        dataMappingRoot: 0,
        deviceDetailsRoot: 0,
        dataBlockSize: sectors,
        metadataBlockSize: METADATA_BLOCK_SECTORS,
        metadataNrBlocks: metadataBlocks,
        compatFlags: 0,
        compatRoFlags: 0,
        incompatFlags: 0,
      }
      const pool = new ThinPool(dir, metadataFile, dataFile, cache, template, engine, options.failpoint ?? noFailpoint, false)
      pool.dirty = true
      if (options.reserveDevice0 !== false) engine.createThin(RESERVED_DEVICE_ID)
      pool.commit()
      files.splice(0)
      pool.close()
    } catch (err) {
      for (const f of files) f.close()
      for (const p of [tmp.metadata, tmp.data]) if (fs.exists(p)) fs.unlink(p)
      throw err
    }
    fs.rename(tmp.data, paths.data)
    fs.rename(tmp.metadata, paths.metadata)
    const directory = fs.open(dir, 'r')
    try {
      directory.fsync()
    } finally {
      directory.close()
    }
    return ThinPool.open(dir, options)
  }

  static open(dir: string, options: OpenOptions = {}): ThinPool {
    const fs = options.fs ?? nodeFileSystem
    const paths = poolPaths(dir)
    if (!fs.exists(paths.metadata)) throw new FvmError('notFound', `no pool at "${dir}"`)
    let readOnly = options.readOnly ?? false
    const metadataFile = fs.open(paths.metadata, readOnly ? 'r' : 'r+')
    let dataFile: PoolFile | undefined
    try {
      const fileBlocks = Math.floor(metadataFile.size() / BLOCK_SIZE)
      if (fileBlocks === 0) throw new FvmError('corrupt', `metadata file "${paths.metadata}" is empty`)
      const sb = decodeSuperblock(new BlockCache(metadataFile, fileBlocks, 1).read(SUPERBLOCK_LOCATION, superblockKind))
      checkSuperblock(sb, paths.metadata, readOnly)
      if (sb.flags & NEEDS_CHECK_FLAG) {
        if (!options.allowNeedsCheck) {
          const hint = 'run a metadata check before using it'
          throw new FvmError('corrupt', `pool "${dir}" needs a check: its needs_check flag is set`, {hint})
        }
        readOnly = true
      }
      if (sb.metadataSpaceMap.nrBlocks > fileBlocks) {
        const what = `holds ${fileBlocks} blocks, its space map ${sb.metadataSpaceMap.nrBlocks}`
        throw new FvmError('corrupt', `metadata file "${paths.metadata}" ${what}`)
      }
      if (!fs.exists(paths.data)) throw new FvmError('corrupt', `pool "${dir}" has no data file`)
      dataFile = fs.open(paths.data, readOnly ? 'r' : 'r+')
      const dataBytes = sb.dataSpaceMap.nrBlocks * sb.dataBlockSize * SECTOR_SIZE
      if (dataFile.size() < dataBytes) {
        throw new FvmError('corrupt', `data file "${paths.data}" is shorter than its ${sb.dataSpaceMap.nrBlocks} data blocks`)
      }
      const cache = new BlockCache(metadataFile, sb.metadataSpaceMap.nrBlocks, options.cacheBlocks)
      const engine = PoolEngine.load(cache, sb)
      return new ThinPool(dir, metadataFile, dataFile, cache, sb, engine, options.failpoint ?? noFailpoint, readOnly)
    } catch (err) {
      metadataFile.close()
      dataFile?.close()
      throw err
    }
  }

  /** Bytes per data block. */
  get dataBlockSize(): number {
    return this.committedSb.dataBlockSize * SECTOR_SIZE
  }

  /** The superblock's format version (2 for pools made here). */
  get version(): number {
    return this.committedSb.version
  }

  get nrDataBlocks(): number {
    return this.engine.dsm.nrBlocks
  }

  get transactionId(): number {
    this.checkOpen()
    return this.engine.transactionId
  }

  get time(): number {
    this.checkOpen()
    return this.engine.time
  }

  createThin(id: number): void {
    checkNewDeviceId(id)
    this.checkAbsent(id)
    this.change((e) => e.createThin(id))
  }

  /** A snapshot of origin: one more reference on its mapping tree, whatever its size. */
  createSnap(id: number, origin: number): void {
    checkNewDeviceId(id)
    checkDeviceId(origin)
    this.checkAbsent(id)
    const o = this.device(origin)
    if (this.engine.time >= MAX_TIME) throw new FvmError('noSpace', `pool time is at its ${MAX_TIME} limit: no more snapshots`)
    this.change((e) => e.createSnap(id, o))
  }

  delete(id: number): void {
    checkNewDeviceId(id)
    const d = this.device(id)
    this.change((e) => e.deleteDevice(id, d), FREEING_OPERATION_METADATA_BLOCKS)
  }

  /** Compare-and-swap of the pool's transaction id. */
  setTransactionId(current: number, next: number): void {
    checkTransactionId(current)
    checkTransactionId(next)
    this.checkWritable()
    if (this.engine.transactionId !== current) {
      throw new FvmError('conflict', `transaction id mismatch: expected ${current}, pool is at ${this.engine.transactionId}`)
    }
    this.change((e) => {
      e.transactionId = next
    })
  }

  /** Every device id, in order, device 0 included. */
  devices(): number[] {
    this.checkOpen()
    return this.engine.deviceIds()
  }

  details(id: number): ThinDevice {
    checkDeviceId(id)
    return {id, ...this.device(id).details}
  }

  lookup(id: number, vblock: number): LookupResult | undefined {
    checkVblock(vblock)
    const d = this.device(id)
    const m = this.engine.lookup(d, vblock)
    return m && {dataBlock: m.dataBlock, time: m.time, shared: d.details.snapshottedTime > m.time}
  }

  /** Maps vblock to dataBlock. The mapping takes over one reference the caller holds on dataBlock. */
  insert(id: number, vblock: number, dataBlock: number): void {
    checkVblock(vblock)
    const d = this.device(id)
    this.checkAllocated(dataBlock)
    this.change((e) => e.insert(id, d, vblock, dataBlock))
  }

  /** Unmaps vblock, dropping the mapping's reference on its data block; false if it was not mapped. */
  remove(id: number, vblock: number): boolean {
    checkVblock(vblock)
    const d = this.device(id)
    return this.change((e) => e.remove(id, d, vblock), FREEING_OPERATION_METADATA_BLOCKS)
  }

  /** The device's mappings from fromVblock on, streamed in order. Any change to the pool ends the iteration. */
  mappings(id: number, fromVblock = 0): Generator<Mapping> {
    checkVblock(fromVblock)
    const d = this.device(id)
    return this.walk(id, d.root, fromVblock, this.generation)
  }

  /**
   * Where the mappings of two devices differ, in vblock order: blocks only one maps, or
   * both map to different data blocks (times are ignored, as thin_delta does). Subtrees
   * the two still share are skipped unread, so between a snapshot and its origin the
   * cost follows what changed. includeSame also reports the blocks both map alike,
   * which means reading everything. Any change to the pool ends the iteration.
   */
  delta(left: number, right: number, options: {includeSame?: boolean} = {}): Generator<MappingDelta> {
    const l = this.device(left)
    const r = this.device(right)
    return this.walkDelta(left, right, l.root, r.root, options.includeSame ?? false, this.generation)
  }

  /** A data block free now and at the last commit, with reference count 1, owned by the caller. */
  allocateDataBlock(): number {
    this.checkWritable()
    const dsm = this.engine.dsm
    if (dsm.allocatable <= 0) {
      const pending = dsm.nrAllocated < dsm.nrBlocks ? ' until the blocks freed since the last commit are committed' : ''
      throw new FvmError('noSpace', `pool "${this.dir}" is out of data space: all ${dsm.nrBlocks} data blocks are in use${pending}`)
    }
    return this.change((e) => e.dsm.allocate())
  }

  incDataBlock(b: number): void {
    this.checkAllocated(b)
    this.change((e) => e.dsm.inc(b))
  }

  /** Drops a reference; the block is free once its count reaches 0. Returns the new count. */
  decDataBlock(b: number): number {
    this.checkAllocated(b)
    return this.change((e) => e.dsm.dec(b), FREEING_OPERATION_METADATA_BLOCKS)
  }

  dataBlockRefCount(b: number): number {
    this.checkDataBlock(b)
    return this.engine.dsm.count(b)
  }

  /**
   * A new device whose mappings (strictly increasing vblocks) are bulk-loaded, each
   * taking a reference on its data block. For restoring a dump; device 0 is allowed.
   */
  restoreDevice(id: number, details: Omit<DeviceDetails, 'mappedBlocks'>, mappings: Iterable<Mapping>): void {
    checkDeviceId(id)
    this.checkAbsent(id)
    checkTransactionId(details.transactionId)
    const time = this.engine.time
    for (const t of [details.creationTime, details.snapshottedTime]) {
      if (!Number.isInteger(t) || t < 0 || t > time) {
        throw new FvmError('usage', `thin device ${id}: time ${t} is not in 0..${time} (the pool time)`)
      }
    }
    this.change((e) =>
      e.restoreDevice(id, details, mappings, (m) => {
        checkVblock(m.vblock)
        this.checkDataBlock(m.dataBlock)
        if (!Number.isInteger(m.time) || m.time < 0 || m.time > time) {
          throw new FvmError('usage', `thin device ${id}: mapping of block ${m.vblock} has time ${m.time}, not in 0..${time}`)
        }
      }),
    )
  }

  /** Commits, then holds a copy of the metadata for readers such as thin_dump -m; commits again. Returns its block. */
  reserveMetadataSnap(): number {
    this.checkWritable()
    if (this.engine.heldRoot !== 0) throw new FvmError('conflict', `a metadata snapshot is already held at block ${this.engine.heldRoot}`)
    this.commit()
    const held = this.change((e) => e.reserveMetadataSnap(this.committedSb))
    this.commit()
    return held
  }

  /** Drops the held metadata snapshot and commits. */
  releaseMetadataSnap(): void {
    this.checkWritable()
    if (this.engine.heldRoot === 0) throw new FvmError('notFound', 'no metadata snapshot is held')
    this.change((e) => e.releaseMetadataSnap(), FREEING_OPERATION_METADATA_BLOCKS)
    this.commit()
  }

  status(): PoolStatus {
    this.checkOpen()
    const e = this.engine
    return {
      transactionId: e.transactionId,
      time: e.time,
      usedMetadataBlocks: e.msm.nrAllocated,
      totalMetadataBlocks: e.msm.nrBlocks,
      usedDataBlocks: e.dsm.nrAllocated,
      totalDataBlocks: e.dsm.nrBlocks,
      heldRoot: e.heldRoot === 0 ? undefined : e.heldRoot,
      needsCheck: (this.committedSb.flags & NEEDS_CHECK_FLAG) !== 0,
      readOnly: this.readOnly,
    }
  }

  /**
   * Makes every change since the last commit durable: data file fdatasync, all new
   * metadata blocks, fsync, then the superblock alone, fsync.
   */
  commit(): void {
    this.checkWritable()
    if (!this.dirty) return
    try {
      const e = this.engine
      const roots = e.prepareCommit()
      this.dataFile.fdatasync()
      this.failpoint('commit.afterDataSync')
      this.cache.flush()
      this.failpoint('commit.afterMetadataWrite')
      this.metadataFile.fsync()
      this.failpoint('commit.afterMetadataSync')
      const sb: Superblock = {
        ...this.committedSb,
        ...roots,
        time: e.time,
        transactionId: e.transactionId,
        heldRoot: e.heldRoot,
        dataMappingRoot: e.mappingRoot,
        deviceDetailsRoot: e.detailsRoot,
      }
      this.cache.writeNow(SUPERBLOCK_LOCATION, superblockKind, encodeSuperblock(sb))
      this.failpoint('commit.afterSuperblockWrite')
      this.metadataFile.fsync()
      e.committed()
      this.committedSb = sb
      this.dirty = false
    } catch (err) {
      this.failure = err
      throw asFvmError(err, `pool "${this.dir}": commit failed`, 'reopen the pool: it is as of its last commit')
    }
  }

  /** Drops every change since the last commit. */
  rollback(): void {
    this.checkOpen()
    this.cache.clear()
    this.engine = PoolEngine.load(this.cache, this.committedSb)
    this.dirty = false
    this.generation++
  }

  /** Closes the files. Changes since the last commit are dropped. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.metadataFile.close()
    this.dataFile.close()
  }

  private *walk(id: number, root: number, from: number, generation: number): Generator<Mapping> {
    for (const {key, value} of this.engine.bottom.entries(root, from)) {
      if (this.generation !== generation) {
        throw new FvmError('conflict', `pool changed while listing the mappings of thin device ${id}`)
      }
      yield {vblock: key, dataBlock: value.dataBlock, time: value.time}
    }
  }

  private *walkDelta(
    left: number,
    right: number,
    leftRoot: number,
    rightRoot: number,
    includeSame: boolean,
    generation: number,
  ): Generator<MappingDelta> {
    const same = (x: BlockTime, y: BlockTime) => x.dataBlock === y.dataBlock
    for (const {key, left: l, right: r} of diffTrees(this.cache, blockTimeType, leftRoot, rightRoot, {same, includeSame})) {
      if (this.generation !== generation) {
        throw new FvmError('conflict', `pool changed while comparing thin devices ${left} and ${right}`)
      }
      yield {vblock: key, left: l, right: r}
      this.cache.trim()
    }
  }

  /** Runs one change of the transaction; if it fails part way, the pool goes back to its last commit. */
  private change<T>(fn: (e: PoolEngine) => T, metadataBlocks = OPERATION_METADATA_BLOCKS): T {
    this.checkWritable()
    const msm = this.engine.msm
    if (msm.allocatable < msm.reserve + metadataBlocks) {
      const used = `${msm.nrBlocks - msm.allocatable} of ${msm.nrBlocks} blocks in use`
      throw new FvmError('noSpace', `pool "${this.dir}" is out of metadata space: ${used}`, {
        hint: 'commit to free blocks released in this transaction, or grow the metadata',
      })
    }
    this.generation++
    this.dirty = true
    try {
      const result = fn(this.engine)
      this.cache.trim()
      return result
    } catch (err) {
      try {
        this.rollback()
      } catch (rollbackError) {
        this.failure = rollbackError
      }
      throw asFvmError(err, `pool "${this.dir}"`, 'changes since the last commit were dropped')
    }
  }

  private device(id: number): DeviceState {
    checkDeviceId(id)
    this.checkOpen()
    const d = this.engine.device(id)
    if (d === undefined) throw new FvmError('notFound', `thin device ${id} does not exist`)
    return d
  }

  private checkAbsent(id: number): void {
    this.checkOpen()
    if (this.engine.device(id) !== undefined) throw new FvmError('conflict', `thin device ${id} already exists`)
  }

  private checkDataBlock(b: number): void {
    if (!Number.isInteger(b) || b < 0 || b >= this.engine.dsm.nrBlocks) {
      throw new FvmError('usage', `data block ${b} is beyond the end of the pool (${this.engine.dsm.nrBlocks} blocks)`)
    }
  }

  private checkAllocated(b: number): void {
    this.checkOpen()
    this.checkDataBlock(b)
    if (this.engine.dsm.count(b) === 0) throw new FvmError('usage', `data block ${b} is not allocated`)
  }

  private checkOpen(): void {
    if (this.closed) throw new FvmError('usage', `pool "${this.dir}" is closed`)
    if (this.failure !== undefined) {
      const hint = 'reopen the pool: it is as of its last commit'
      throw new FvmError('failure', `pool "${this.dir}" failed in a commit`, {cause: this.failure, hint})
    }
  }

  private checkWritable(): void {
    this.checkOpen()
    if (this.readOnly) throw new FvmError('usage', `pool "${this.dir}" is open read-only`)
  }
}

/** Errors from below (I/O) become FvmErrors; ours pass through unchanged. */
function asFvmError(err: unknown, context: string, hint: string): FvmError {
  if (err instanceof FvmError) return err
  const code = (err as NodeJS.ErrnoException).code
  const message = `${context}: ${err instanceof Error ? err.message : String(err)}`
  return new FvmError(code === 'ENOSPC' || code === 'EDQUOT' ? 'noSpace' : 'failure', message, {cause: err, hint})
}

function checkSuperblock(sb: Superblock, file: string, readOnly: boolean): void {
  if (sb.version < 1 || sb.version > THIN_VERSION) throw new FvmError('corrupt', `metadata "${file}": unsupported version ${sb.version}`)
  if (sb.incompatFlags !== 0) {
    throw new FvmError('corrupt', `metadata "${file}": unsupported incompatible features 0x${sb.incompatFlags.toString(16)}`)
  }
  if (sb.compatRoFlags !== 0 && !readOnly) {
    throw new FvmError('usage', `metadata "${file}": features 0x${sb.compatRoFlags.toString(16)} allow read-only use only`)
  }
  if (sb.metadataBlockSize !== METADATA_BLOCK_SECTORS) {
    throw new FvmError('corrupt', `metadata "${file}": metadata block size is ${sb.metadataBlockSize} sectors, not ${METADATA_BLOCK_SECTORS}`)
  }
  dataBlockSectors(sb.dataBlockSize * SECTOR_SIZE)
}

function checkDeviceId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_DEVICE_ID) {
    throw new FvmError('usage', `thin device id ${id} is out of range (0..${MAX_DEVICE_ID})`)
  }
}

function checkNewDeviceId(id: number): void {
  checkDeviceId(id)
  if (id === RESERVED_DEVICE_ID) throw new FvmError('usage', `thin device ${RESERVED_DEVICE_ID} is reserved`)
}

function checkVblock(vblock: number): void {
  if (!Number.isSafeInteger(vblock) || vblock < 0) throw new FvmError('usage', `virtual block ${vblock} is out of range`)
}

function checkTransactionId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 0) throw new FvmError('usage', `transaction id ${id} is out of range (0..2^53-1)`)
}

function checkTime(time: number): void {
  if (!Number.isInteger(time) || time < 0 || time > MAX_TIME) {
    throw new FvmError('usage', `pool time ${time} is out of range (0..${MAX_TIME})`)
  }
}
