// The two-phase commit of catalog and pool, and init, under SIGKILL at every failpoint
// of every layer: the next open shows the state before or after, never a mix, and the
// pool holds exactly the devices the catalog names.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {deviceHolders} from '../../src/plumbing/catalog/model.js'
import {withInstance} from '../../src/plumbing/instance-open.js'
import {initInstance} from '../../src/plumbing/instance.js'
import {fvmBin, tempDir} from '../support/cli.js'
import {assertThinCheckPasses, THIN_TOOLS} from '../support/thin-tools.js'
import {needTools, repoRoot} from '../support/tools.js'

const child = path.join(repoRoot, 'test/plumbing/transaction-child.ts')
const ENGINE = ['commit.afterDataSync', 'commit.afterMetadataWrite', 'commit.afterMetadataSync', 'commit.afterSuperblockWrite']
const CATALOG_WRITE = ['catalog.afterRecordWrite', 'catalog.afterRecordSync', 'catalog.afterHeaderWrite', 'catalog.afterHeaderSync']
const TXN = ['txn.afterPrepare', 'txn.afterPoolCommit']

interface Seen {
  txid: number
  volumes: string[]
  catalogDevices: number[]
  poolDevices: number[]
}

function inspect(home: string): Seen {
  return withInstance({home}, ({pool, catalog}) => {
    const {txid, value} = catalog.committed()
    expect(pool.transactionId, 'pool and catalog ids').to.equal(txid)
    return {
      txid,
      volumes: Object.values(value.volumes).map((v) => v.name).sort(),
      catalogDevices: [...deviceHolders(value).keys()].sort((a, b) => a - b),
      poolDevices: pool.devices().filter((id) => id !== 0),
    }
  })
}

function run(home: string, step: string, failpoint: string): number | null {
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, home, step, failpoint], {encoding: 'utf8', cwd: repoRoot})
  if (failpoint === 'none' && r.status !== 0) throw new Error(`${step} failed: ${r.stderr}`)
  return r.signal === 'SIGKILL' ? null : r.status
}

describe('transactions under SIGKILL', function () {
  this.timeout(300_000)
  let dir: string
  before(function () {
    needTools(this, ...THIN_TOOLS)
  })
  beforeEach(() => {
    dir = tempDir()
  })
  afterEach(() => fs.rmSync(dir, {recursive: true, force: true}))

  // The failpoints on init's path: the pool's format commit, then the catalog's create.
  for (const failpoint of [...ENGINE, 'catalog.afterRecordWrite', 'catalog.afterHeaderWrite', 'catalog.afterHeaderSync', 'catalog.afterRename']) {
    it(`fvm init killed at ${failpoint} is finished by the next open`, () => {
      const home = path.join(dir, 'h')
      const r = spawnSync(process.execPath, [fvmBin, 'init', '--home', home, '--size', '64MiB'],
        {encoding: 'utf8', env: {...process.env, FVM_FAILPOINT: failpoint}})
      expect(r.signal, r.stderr).to.equal('SIGKILL')
      expect(inspect(home)).to.deep.equal({txid: 0, volumes: [], catalogDevices: [], poolDevices: []})
      expect(fs.readdirSync(path.join(home, 'pool')).sort()).to.deep.equal(['catalog', 'data', 'metadata'])
      assertThinCheckPasses(path.join(home, 'pool/metadata'))
    })
  }

  // Each step runs on the state the steps before it left.
  const steps = ['create', 'tag', 'branch', 'rollback', 'rm']
  for (const [i, step] of steps.entries()) {
    it(`"${step}" killed at each failpoint leaves the state before or after`, () => {
      const base = path.join(dir, 'base')
      initInstance({home: base, hostname: 'crash', size: 64 * 2 ** 20})
      for (const earlier of steps.slice(0, i)) run(base, earlier, 'none')
      const before = inspect(base)
      const afterHome = path.join(dir, 'after')
      fs.cpSync(base, afterHome, {recursive: true})
      run(afterHome, step, 'none')
      const after = inspect(afterHome)
      expect(after.txid).to.equal(before.txid + 1)
      const outcomes = new Set<string>()
      for (const failpoint of [...CATALOG_WRITE, ...ENGINE, ...TXN]) {
        const home = path.join(dir, `k-${failpoint}`)
        fs.cpSync(base, home, {recursive: true})
        expect(run(home, step, failpoint), failpoint).to.equal(null)
        const seen = inspect(home)
        expect(seen.catalogDevices, `${failpoint}: pool devices match the catalog`).to.deep.equal(seen.poolDevices)
        expect([before, after], failpoint).to.deep.include(seen)
        outcomes.add(seen === before || JSON.stringify(seen) === JSON.stringify(before) ? 'before' : 'after')
        assertThinCheckPasses(path.join(home, 'pool/metadata'))
        fs.rmSync(home, {recursive: true, force: true})
      }
      expect([...outcomes].sort(), 'both outcomes occur').to.deep.equal(['after', 'before'])
    })
  }
})
