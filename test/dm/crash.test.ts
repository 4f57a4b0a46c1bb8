// Kills a child process at every failpoint of every commit of a workload, then checks
// the pool: both thin_checks pass, and it reads exactly as before the interrupted
// transaction (or, once the superblock is written, as after it).
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {expect} from 'chai'
import {FAILPOINT_NAMES, type FailpointName} from '../../src/dm/pdata/failpoints.js'
import {checkMetadata} from '../../src/dm/thin/check.js'
import {ThinPool} from '../../src/dm/thin/thin-pool.js'
import {THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {poolState, type PoolState, runScenario} from './crash-scenario.js'
import {cleanupScratchDirs, metadataPath, scratchDir, thinCheckAll} from './helpers.js'

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-scenario.ts')

function runChild(dir: string, spec: string): Promise<NodeJS.Signals | number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir, spec], {stdio: ['ignore', 'ignore', 'pipe']})
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('close', (code, signal) => (signal === null && code !== 0 ? reject(new Error(`child failed: ${err}`)) : resolve(signal ?? code)))
  })
}

interface Crash {
  name: FailpointName
  hit: number
  dir: string
}

describe('dm ThinPool crash safety', function () {
  before(function () {
    needTools(this, ...THIN_TOOLS)
  })
  after(cleanupScratchDirs)

  it('survives SIGKILL at every commit step', async function () {
    this.timeout(300_000)
    const states: PoolState[] = []
    runScenario(scratchDir(), undefined, (pool) => states.push(poolState(pool)))
    const commits = states.length

    const crashes: Crash[] = FAILPOINT_NAMES.flatMap((name) =>
      Array.from({length: commits}, (_, i) => ({name, hit: i + 1, dir: scratchDir()})),
    )
    let next = 0
    await Promise.all(
      Array.from({length: 3}, async () => {
        while (next < crashes.length) {
          const c = crashes[next++]
          expect(await runChild(c.dir, `${c.name}:${c.hit}`), `${c.name}:${c.hit}`).to.equal('SIGKILL')
        }
      }),
    )

    const images: string[] = []
    for (const c of crashes) {
      const label = `${c.name}:${c.hit}`
      const superblockDown = c.name === 'commit.afterSuperblockWrite'
      if (c.hit === 1 && !superblockDown) {
        // The format itself was interrupted: no pool, and a new format succeeds.
        expect(fs.existsSync(metadataPath(c.dir)), label).to.equal(false)
        ThinPool.format(c.dir, {dataBlocks: 10}).close()
        continue
      }
      if (c.hit === 1) {
        // Killed before the rename into place: the pool directory holds only temporary files.
        expect(fs.existsSync(metadataPath(c.dir)), label).to.equal(false)
        continue
      }
      const pool = ThinPool.open(c.dir)
      const expected = superblockDown ? states[c.hit - 1] : states[c.hit - 2]
      expect(poolState(pool), label).to.deep.equal(expected)
      pool.close()
      expect(checkMetadata(metadataPath(c.dir)).clean, label).to.equal(true)
      const image = path.join(c.dir, 'crashed-metadata')
      fs.copyFileSync(metadataPath(c.dir), image)
      images.push(image)
      // The pool carries on: blocks written by the dead transaction are free again.
      const again = ThinPool.open(c.dir)
      again.createThin(99)
      for (let v = 0; v < 300; v++) again.insert(99, v, again.allocateDataBlock())
      again.commit()
      again.close()
      images.push(metadataPath(c.dir))
    }
    const failures = await thinCheckAll(images)
    expect(failures, failures.join('\n')).to.deep.equal([])
  })
})
