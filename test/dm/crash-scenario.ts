// A deterministic pool workload that commits several times: creates, snapshots, maps,
// copies on write, unmaps, deletes and holds a metadata snapshot. The crash test runs
// it in a child process with a failpoint (argv: pool dir, failpoint spec) and compares
// what survives with the states recorded by a clean run in process.
import {pathToFileURL} from 'node:url'
import {failpointFromSpec, type Failpoint} from '../../src/dm/pdata/failpoints.js'
import type {FileSystem} from '../../src/dm/pdata/file-io.js'
import {ThinPool} from '../../src/dm/thin/thin-pool.js'

export interface PoolState {
  transactionId: number
  time: number
  heldRoot: boolean
  devices: {id: number; mappedBlocks: number; creationTime: number; snapshottedTime: number; mappings: [number, number, number][]}[]
}

export function poolState(pool: ThinPool): PoolState {
  const status = pool.status()
  return {
    transactionId: status.transactionId,
    time: status.time,
    heldRoot: status.heldRoot !== undefined,
    devices: pool.devices().map((id) => {
      const d = pool.details(id)
      return {
        id,
        mappedBlocks: d.mappedBlocks,
        creationTime: d.creationTime,
        snapshottedTime: d.snapshottedTime,
        mappings: [...pool.mappings(id)].map((m): [number, number, number] => [m.vblock, m.dataBlock, m.time]),
      }
    }),
  }
}

function write(pool: ThinPool, id: number, from: number, count: number): void {
  for (let v = from; v < from + count; v++) {
    const m = pool.lookup(id, v)
    if (!m || m.shared) pool.insert(id, v, pool.allocateDataBlock())
  }
}

/** Runs the workload; onCommit sees the pool after each commit that wrote something. */
export function runScenario(
  dir: string,
  failpoint: Failpoint | undefined,
  onCommit: (pool: ThinPool) => void = () => {},
  fs?: FileSystem,
): void {
  let pool = ThinPool.format(dir, {dataBlocks: 5000, failpoint, fs, cacheBlocks: 16})
  onCommit(pool)
  const commit = () => {
    pool.commit()
    onCommit(pool)
  }
  pool.createThin(1)
  write(pool, 1, 0, 700)
  pool.setTransactionId(0, 1)
  commit()
  pool.createSnap(2, 1)
  write(pool, 1, 100, 300)
  write(pool, 2, 500, 400)
  commit()
  pool.createThin(3)
  write(pool, 3, 0, 100)
  pool.createSnap(4, 2)
  for (let v = 0; v < 350; v++) pool.remove(1, v)
  commit()
  pool.delete(2)
  write(pool, 4, 0, 200)
  commit()
  pool.close()
  pool = ThinPool.open(dir, {failpoint, fs, cacheBlocks: 16})
  pool.reserveMetadataSnap()
  onCommit(pool)
  pool.delete(1)
  write(pool, 3, 50, 100)
  commit()
  pool.releaseMetadataSnap()
  onCommit(pool)
  pool.close()
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  runScenario(process.argv[2], failpointFromSpec(process.argv[3]))
}
