// Simulated power loss: a file system that keeps every write since the last fsync in
// memory, and at a crash keeps only some of them (none, or a random subset). Whatever
// survives, the pool must read as before the interrupted commit or after it, and pass
// the checks: this is what proves the fsync ordering of the commit.
import fs from 'node:fs'
import {expect} from 'chai'
import {FAILPOINT_NAMES, type FailpointName} from '../../src/dm/pdata/failpoints.js'
import {type FileSystem, nodeFileSystem, type OpenFlags, type PoolFile} from '../../src/dm/pdata/file-io.js'
import {checkMetadata} from '../../src/dm/thin/check.js'
import {ThinPool} from '../../src/dm/thin/thin-pool.js'
import {THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {poolState, type PoolState, runScenario} from './crash-scenario.js'
import {cleanupScratchDirs, metadataPath, prng, scratchDir, thinCheckAll} from './helpers.js'

interface Write {
  position: number
  data: Buffer
}

/** Unsynced writes live in memory until fsync; crash() decides which of them reach the disk. */
class PowerLossFs implements FileSystem {
  private readonly files = new Set<{real: PoolFile; pending: Write[]}>()

  open(path: string, flags: OpenFlags): PoolFile {
    const real = nodeFileSystem.open(path, flags)
    const state = {real, pending: [] as Write[]}
    this.files.add(state)
    const sync = () => {
      for (const w of state.pending) real.pwrite(w.data, w.position)
      state.pending = []
    }
    return {
      path,
      pread(buf, position) {
        const n = real.pread(buf, position)
        for (const w of state.pending) {
          const from = Math.max(position, w.position)
          const to = Math.min(position + buf.length, w.position + w.data.length)
          if (from < to) w.data.copy(buf, from - position, from - w.position, to - w.position)
        }
        return Math.max(n, ...state.pending.filter((w) => w.position < position + buf.length).map((w) => Math.min(buf.length, w.position + w.data.length - position)))
      },
      pwrite: (buf, position) => void state.pending.push({position, data: Buffer.from(buf)}),
      fsync: sync,
      fdatasync: sync,
      size: () => real.size(),
      truncate: (length) => real.truncate(length),
      close: () => {
        real.close()
        this.files.delete(state)
      },
    }
  }

  rename = nodeFileSystem.rename
  unlink = nodeFileSystem.unlink
  exists = nodeFileSystem.exists

  /** The power goes: writes that keep() accepts reach the disk, in order; the rest are lost. */
  crash(keep: (w: Write) => boolean): void {
    for (const f of this.files) {
      for (const w of f.pending) if (keep(w)) f.real.pwrite(w.data, w.position)
      f.real.close()
    }
    this.files.clear()
  }
}

const CRASH = new Error('power loss')

describe('dm ThinPool power loss', function () {
  before(function () {
    needTools(this, ...THIN_TOOLS)
  })
  after(cleanupScratchDirs)

  it('reads as before or after the interrupted commit, whichever writes were lost', async function () {
    this.timeout(300_000)
    const states: PoolState[] = []
    runScenario(scratchDir(), undefined, (pool) => states.push(poolState(pool)))
    const random = prng(99)
    const images: string[] = []
    for (const name of FAILPOINT_NAMES) {
      for (let hit = 2; hit <= states.length; hit++) {
        for (const lose of ['all', 'some'] as const) {
          const dir = scratchDir()
          const powerLoss = new PowerLossFs()
          let seen = 0
          const failpoint = (n: FailpointName) => {
            if (n === name && ++seen === hit) throw CRASH
          }
          expect(() => runScenario(dir, failpoint, () => {}, powerLoss)).to.throw()
          powerLoss.crash(() => lose === 'some' && random(2) === 0)
          const label = `${name}:${hit} losing ${lose}`
          const pool = ThinPool.open(dir)
          const state = poolState(pool)
          pool.close()
          expect([states[hit - 2], states[hit - 1]], label).to.deep.include(state)
          if (name !== 'commit.afterSuperblockWrite' || lose === 'all') expect(state, label).to.deep.equal(states[hit - 2])
          const report = checkMetadata(metadataPath(dir))
          expect(report.clean, `${label}: ${JSON.stringify(report.issues)}`).to.equal(true)
          images.push(metadataPath(dir))
        }
      }
    }
    expect(fs.existsSync(images[0])).to.equal(true)
    const failures = await thinCheckAll(images)
    expect(failures, failures.join('\n')).to.deep.equal([])
  })
})
