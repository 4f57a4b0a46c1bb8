// A prepared operation: its pool changes are made ahead and committed later (or
// dropped), and nothing else may commit in between, or it would take them along.
import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {createVolume} from '../../src/plumbing/catalog/ops-volumes.js'
import {withInstance} from '../../src/plumbing/instance-open.js'
import {initInstance} from '../../src/plumbing/instance.js'
import {commitOperation, prepareOperation} from '../../src/plumbing/transaction.js'
import {tempDir} from '../support/cli.js'
import {assertThinCheckPasses, THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {expectFvmError} from './catalog-model-fixtures.js'

const MiB = 2 ** 20

describe('prepared operations', () => {
  let dir: string
  let home: string
  before(function () {
    needTools(this, ...THIN_TOOLS)
  })
  beforeEach(() => {
    dir = tempDir()
    home = path.join(dir, 'h')
    initInstance({home, hostname: 'prepared', size: 64 * MiB})
  })
  afterEach(() => fs.rmSync(dir, {recursive: true, force: true}))

  const seen = () =>
    withInstance({home}, ({pool, catalog}) => ({
      txid: catalog.committed().txid,
      poolTxid: pool.transactionId,
      volumes: Object.values(catalog.committed().value.volumes).map((v) => v.name),
      devices: pool.devices().filter((id) => id !== 0),
    }))

  it('commits what was prepared, once', () => {
    withInstance({home}, (instance) => {
      const prepared = prepareOperation(instance, (s, c) => createVolume(s, {name: 'data', size: 8 * MiB}, c))
      // Made in memory, not committed: the catalog still says what it said.
      expect(Object.keys(instance.catalog.committed().value.volumes)).to.deep.equal([])
      expect(prepared.commit().volume).to.be.a('string')
      expectFvmError(() => prepared.commit(), 'failure', /committed or dropped already/)
      prepared.abandon()
    })
    expect(seen()).to.deep.equal({txid: 1, poolTxid: 1, volumes: ['data'], devices: [1]})
    assertThinCheckPasses(path.join(home, 'pool/metadata'))
  })

  it('drops what was prepared, leaving the pool and catalog as they were', () => {
    const before = seen()
    withInstance({home}, (instance) => {
      prepareOperation(instance, (s, c) => createVolume(s, {name: 'data', size: 8 * MiB}, c)).abandon()
      // The pool's changes are gone: the next operation starts from the committed state.
      commitOperation(instance, (s, c) => createVolume(s, {name: 'other', size: 8 * MiB}, c))
    })
    expect(seen()).to.deep.equal({txid: before.txid + 1, poolTxid: before.txid + 1, volumes: ['other'], devices: [1]})
    assertThinCheckPasses(path.join(home, 'pool/metadata'))
  })

  it('refuses any other commit while one is prepared', () => {
    withInstance({home}, (instance) => {
      const prepared = prepareOperation(instance, (s, c) => createVolume(s, {name: 'data', size: 8 * MiB}, c))
      expectFvmError(() => commitOperation(instance, (s, c) => createVolume(s, {name: 'other', size: 8 * MiB}, c)), 'failure', /nothing else may commit/)
      prepared.commit()
      commitOperation(instance, (s, c) => createVolume(s, {name: 'other', size: 8 * MiB}, c))
    })
    expect(seen().volumes.sort()).to.deep.equal(['data', 'other'])
  })
})
