// Dumps a pool as the thin_dump event stream (devices in id order, mappings in vblock
// order, one block at a time: the XML writer merges runs as thin_dump does).
import {SECTOR_SIZE} from './pool-layout.js'
import type {ThinPool} from './thin-pool.js'
import type {MetadataVisitor} from './xml-ir.js'

const NEEDS_CHECK = 1

export function dumpPool(pool: ThinPool, visitor: MetadataVisitor): void {
  const status = pool.status()
  visitor.superblockBegin({
    uuid: '',
    time: status.time,
    transaction: status.transactionId,
    flags: status.needsCheck ? NEEDS_CHECK : 0,
    version: pool.version,
    dataBlockSize: pool.dataBlockSize / SECTOR_SIZE,
    nrDataBlocks: pool.nrDataBlocks,
  })
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
