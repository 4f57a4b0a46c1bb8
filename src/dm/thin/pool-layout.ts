// What a pool directory holds and how big its files are: the kernel's rules for the
// data block size and for sizing the metadata device.
import path from 'node:path'
import {FvmError} from '../../errors.js'
import {BLOCK_SIZE} from '../pdata/block-cache.js'
import {MAX_METADATA_BLOCKS} from '../pdata/space-map-format.js'
import {MAX_DATA_BLOCKS} from './block-time.js'

export const SECTOR_SIZE = 512
export const DEFAULT_DATA_BLOCK_SIZE = 65536
const MIN_DATA_BLOCK_SECTORS = 128
const MAX_DATA_BLOCK_SECTORS = 2097152
const MIN_METADATA_BYTES = 2 * 1024 * 1024
/** 1 MiB: room for an empty pool, the commit reserve and a few operations. */
export const MIN_METADATA_BLOCKS = 256

export function poolPaths(dir: string): {metadata: string; data: string} {
  return {metadata: path.join(dir, 'metadata'), data: path.join(dir, 'data')}
}

/** The data block size in sectors, after checking it is one the kernel accepts. */
export function dataBlockSectors(bytes: number): number {
  const sectors = bytes / SECTOR_SIZE
  const inRange = sectors >= MIN_DATA_BLOCK_SECTORS && sectors <= MAX_DATA_BLOCK_SECTORS
  if (!Number.isInteger(sectors) || !inRange || sectors % MIN_DATA_BLOCK_SECTORS !== 0) {
    throw new FvmError('usage', `data block size ${bytes} is not a multiple of 64 KiB between 64 KiB and 1 GiB`)
  }
  return sectors
}

export function checkDataBlockCount(dataBlocks: number): void {
  if (!Number.isInteger(dataBlocks) || dataBlocks < 0 || dataBlocks >= MAX_DATA_BLOCKS) {
    throw new FvmError('usage', `data block count ${dataBlocks} is out of range (0..${MAX_DATA_BLOCKS - 1})`)
  }
}

/**
 * Metadata bytes per data block. The kernel's guide is 48 for one fully mapped device,
 * "more if you intend to take many snapshots": a snapshot whose origin is then rewritten
 * needs a second mapping tree. The file is sparse, so room costs nothing until used;
 * 4x the guide lets every block of the pool be mapped by about four diverged trees.
 */
const METADATA_BYTES_PER_DATA_BLOCK = 4 * 48

export function metadataBlocksFor(dataBlocks: number): number {
  const bytes = Math.max(MIN_METADATA_BYTES, METADATA_BYTES_PER_DATA_BLOCK * dataBlocks)
  return Math.min(MAX_METADATA_BLOCKS, Math.ceil(bytes / BLOCK_SIZE))
}

export function checkMetadataBlockCount(blocks: number): void {
  if (!Number.isInteger(blocks) || blocks < MIN_METADATA_BLOCKS || blocks > MAX_METADATA_BLOCKS) {
    throw new FvmError('usage', `metadata size of ${blocks} blocks is out of range (${MIN_METADATA_BLOCKS}..${MAX_METADATA_BLOCKS})`)
  }
}
