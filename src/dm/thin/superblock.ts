// The thin-pool superblock (block 0, format §2), and the same layout for the
// metadata-snapshot copy that held_root points at. Under 512 meaningful bytes, so one
// sector write replaces it atomically.
import type {BlockKind} from '../pdata/block-cache.js'
import {BLOCK_SIZE} from '../pdata/block-cache.js'
import {SALT} from '../pdata/crc32c.js'
import {readSmRoot, type SmRoot, writeSmRoot} from '../pdata/space-map-format.js'
import {readU64, writeU64} from '../pdata/u64.js'

export const SUPERBLOCK_LOCATION = 0
export const THIN_MAGIC = 27022010
export const THIN_VERSION = 2
export const NEEDS_CHECK_FLAG = 1
/** Metadata blocks are 4 KiB: 8 sectors. */
export const METADATA_BLOCK_SECTORS = 8

const MAGIC = 32

export const superblockKind: BlockKind = {
  name: 'superblock',
  salt: SALT.superblock,
  check(block) {
    const magic = block.readUInt32LE(MAGIC) + block.readUInt32LE(MAGIC + 4) * 4294967296
    return magic === THIN_MAGIC ? undefined : `bad magic ${magic}`
  },
}

export interface Superblock {
  flags: number
  uuid: Buffer
  version: number
  /** The pool's snapshot clock (24 bits). */
  time: number
  transactionId: number
  /** Block of the metadata snapshot copy; 0 if none. */
  heldRoot: number
  /** All zero in a metadata snapshot copy. */
  dataSpaceMap: SmRoot
  metadataSpaceMap: SmRoot
  dataMappingRoot: number
  deviceDetailsRoot: number
  /** In 512-byte sectors. */
  dataBlockSize: number
  metadataBlockSize: number
  metadataNrBlocks: number
  compatFlags: number
  compatRoFlags: number
  incompatFlags: number
}

export const ZERO_SM_ROOT: SmRoot = {nrBlocks: 0, nrAllocated: 0, bitmapRoot: 0, refCountRoot: 0}

export function decodeSuperblock(block: Buffer): Superblock {
  return {
    flags: block.readUInt32LE(4),
    uuid: Buffer.from(block.subarray(16, 32)),
    version: block.readUInt32LE(40),
    time: block.readUInt32LE(44),
    transactionId: readU64(block, 48),
    heldRoot: readU64(block, 56),
    dataSpaceMap: readSmRoot(block, 64),
    metadataSpaceMap: readSmRoot(block, 192),
    dataMappingRoot: readU64(block, 320),
    deviceDetailsRoot: readU64(block, 328),
    dataBlockSize: block.readUInt32LE(336),
    metadataBlockSize: block.readUInt32LE(340),
    metadataNrBlocks: readU64(block, 344),
    compatFlags: block.readUInt32LE(352),
    compatRoFlags: block.readUInt32LE(356),
    incompatFlags: block.readUInt32LE(360),
  }
}

/** A whole block holding sb; checksum and block number are added when it is written. */
export function encodeSuperblock(sb: Superblock): Buffer {
  const block = Buffer.alloc(BLOCK_SIZE)
  block.writeUInt32LE(sb.flags, 4)
  sb.uuid.copy(block, 16, 0, 16)
  writeU64(block, MAGIC, THIN_MAGIC)
  block.writeUInt32LE(sb.version, 40)
  block.writeUInt32LE(sb.time, 44)
  writeU64(block, 48, sb.transactionId)
  writeU64(block, 56, sb.heldRoot)
  writeSmRoot(block, 64, sb.dataSpaceMap)
  writeSmRoot(block, 192, sb.metadataSpaceMap)
  writeU64(block, 320, sb.dataMappingRoot)
  writeU64(block, 328, sb.deviceDetailsRoot)
  block.writeUInt32LE(sb.dataBlockSize, 336)
  block.writeUInt32LE(sb.metadataBlockSize, 340)
  writeU64(block, 344, sb.metadataNrBlocks)
  block.writeUInt32LE(sb.compatFlags, 352)
  block.writeUInt32LE(sb.compatRoFlags, 356)
  block.writeUInt32LE(sb.incompatFlags, 360)
  return block
}
