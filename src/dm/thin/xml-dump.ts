// Dumps a pool as the thin_dump event stream (devices in id order, mappings in vblock
// order, one block at a time: the XML writer merges runs as thin_dump does).
import {SECTOR_SIZE} from './pool-layout.js'
import type {ThinPool} from './thin-pool.js'
import type {MetadataVisitor, SuperblockIr} from './xml-ir.js'

const NEEDS_CHECK = 1

/** The pool's superblock as thin_dump and thin_delta print it. */
export function superblockIr(pool: ThinPool): SuperblockIr {
  const status = pool.status()
  return {
    uuid: '',
    time: status.time,
    transaction: status.transactionId,
    flags: status.needsCheck ? NEEDS_CHECK : 0,
    version: pool.version,
    dataBlockSize: pool.dataBlockSize / SECTOR_SIZE,
    nrDataBlocks: pool.nrDataBlocks,
    ...(status.heldRoot === undefined ? {} : {metadataSnap: status.heldRoot}),
  }
}

export function dumpPool(pool: ThinPool, visitor: MetadataVisitor): void {
  visitor.superblockBegin(superblockIr(pool))
  const run = {originBegin: 0, dataBegin: 0, length: 1, time: 0}
  for (const id of pool.devices()) {
    const d = pool.details(id)
    visitor.deviceBegin({devId: id, mappedBlocks: d.mappedBlocks, transaction: d.transactionId, creationTime: d.creationTime, snapTime: d.snapshottedTime})
    for (const m of pool.mappings(id)) {
      run.originBegin = m.vblock
      run.dataBegin = m.dataBlock
      run.time = m.time
      visitor.mapping(run)
    }
    visitor.deviceEnd()
  }
  visitor.superblockEnd()
}
