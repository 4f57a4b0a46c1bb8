// delta between a 10,000,000-block device and a snapshot of it in which 1,000 scattered
// blocks were rewritten since, against the real thin_delta on the same metadata file.
// fvm's default output skips the subtrees the two still share; thin_delta reads both.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {ThinPool} from '../../src/dm/thin/thin-pool.js'
import type {Benchmark} from '../harness.js'

const fvmBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/fvm.js')
const MAPPED = 10_000_000
const REWRITTEN = 1_000

/** Device 1 maps MAPPED blocks to consecutive data blocks; device 2 is its snapshot, then rewritten in places. */
function buildPool(dir: string): void {
  fs.mkdirSync(dir, {recursive: true})
  // The data file is sparse; the metadata size follows the kernel's rule for this many blocks.
  const pool = ThinPool.format(dir, {dataBlocks: MAPPED + REWRITTEN + 1000})
  try {
    pool.restoreDevice(1, {transactionId: 0, creationTime: 0, snapshottedTime: 0}, (function* () {
      for (let v = 0; v < MAPPED; v++) yield {vblock: v, dataBlock: v, time: 0}
    })())
    pool.commit()
    pool.createSnap(2, 1)
    for (let i = 0; i < REWRITTEN; i++) {
      // Evenly spread with a jitter, so every change lands in its own leaf.
      const vblock = Math.floor(i * (MAPPED / REWRITTEN) + ((i * 7919) % (MAPPED / REWRITTEN)))
      pool.insert(2, vblock, pool.allocateDataBlock())
    }
    pool.commit()
  } finally {
    pool.close()
  }
}

export function deltaBenchmarks(): Benchmark[] {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fvm-bench-delta-'))
  const pool = path.join(work, 'pool')
  process.once('exit', () => fs.rmSync(work, {recursive: true, force: true}))
  return [{
    name: 'delta: 10,000,000 mapped blocks vs a snapshot with 1,000 rewritten',
    // The harness sends stdout to /dev/null.
    subject: {label: 'fvm plumbing thin delta', argv: [process.execPath, fvmBin, 'plumbing', 'thin', 'delta', '--pool', pool, '1', '2']},
    anchor: {label: 'thin_delta 0.9', argv: ['thin_delta', '--snap1', '1', '--snap2', '2', path.join(pool, 'metadata')]},
    runs: 5,
    maxRatio: 0.2,
    setup: () => buildPool(pool),
  }]
}
