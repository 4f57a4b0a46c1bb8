// fvm status and fvm check through the built bin/fvm: what a healthy instance reports,
// recovery of a change a crash interrupted (FVM_FAILPOINT), and each kind of damage
// check must find (orphan and missing devices, transaction ids apart, needs_check,
// damaged metadata or catalog) with the corrupt code. Each test puts the damage back,
// so the after-each check passes again.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {randomUUID} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {SALT, sealBlock} from '../../src/dm/pdata/crc32c.js'
import type {CatalogState} from '../../src/plumbing/catalog/model.js'
import {CatalogStore} from '../../src/plumbing/catalog/store.js'
import {fvmBin, snapshotTree} from '../support/cli.js'
import {type Json, deviceOf, json, ok, run, useInstance, writeBlocks} from './porcelain-support.js'

const COMMANDS = ['volume create', 'volume list', 'volume info', 'volume inspect', 'volume rm', 'branch', 'branch rm', 'branch rename',
  'tag', 'tag rm', 'rollback', 'log', 'status', 'check', 'gc']

/** Runs a command that a failpoint kills part-way. */
function crash(home: string, failpoint: string, args: string[]): void {
  const r = spawnSync(process.execPath, [fvmBin, ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000,
    env: {...process.env, FVM_HOME: home, FVM_FAILPOINT: failpoint}})
  expect(r.signal, r.stderr).to.equal('SIGKILL')
}

function plumbing(home: string, ...args: string[]): Json {
  return json(home, ['plumbing', ...args, '--pool', path.join(home, 'pool')])
}

/** check fails with the corrupt code, in text and --json, naming `problem`; and changes nothing. */
function damaged(home: string, problem: RegExp): Json {
  const before = snapshotTree(home)
  const report = json(home, ['check'], 5)
  expect(report.ok).to.equal(false)
  expect(report.problems.join('\n')).to.match(problem)
  const text = run(home, ['check'])
  expect(text.status).to.equal(5)
  expect(text.stdout).to.match(problem)
  expect(text.stderr).to.match(/^hint: \d+ problem\(s\) found; nothing was changed\n$/)
  expect(snapshotTree(home)).to.deep.equal(before)
  return report
}

describe('fvm status and fvm check (end to end)', function () {
  this.timeout(60_000)
  const t = useInstance()

  it('status: pool use, transaction ids, quota and health of a healthy instance', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    writeBlocks(t.home, 'data/trunk', [0, 1, 2])
    const status = ok(t.home, 'status')
    expect(status).to.deep.equal({
      instance: {name: 'alpha', uuid: status.instance.uuid, home: t.home},
      pool: {transactionId: 1, dataBlockSize: 65536, usedDataBlocks: 3, totalDataBlocks: 4096, usedMetadataBlocks: status.pool.usedMetadataBlocks, totalMetadataBlocks: 512},
      catalog: {transactionId: 1, prepared: null, volumes: 1, addressedBytes: 64 * 2 ** 20},
      quota: null,
      health: {ok: true, idsAgree: true, needsCheck: false, recovered: 'clean', problem: null},
    })
    const text = run(t.home, ['status', '--home', t.home])
    expect(text.stdout).to.match(/^instance alpha \([0-9a-f-]{36}\) in /)
    expect(text.stdout).to.include('pool data      192.0 KiB of 256.0 MiB (3 of 4096 blocks)\n')
    expect(text.stdout).to.include('transaction    pool 1, catalog 1\n')
    expect(text.stdout).to.include('health         ok, nothing to recover\n')
  })

  it('check: a healthy instance passes, in text and --json', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    ok(t.home, 'tag', 'v1@data')
    const report = ok(t.home, 'check')
    expect(report).to.deep.include({ok: true, missingDevices: [], orphanDevices: [], problems: []})
    expect(report.pool).to.deep.equal({transactionId: 2, devices: 3, needsCheck: false})
    expect(report.catalog).to.deep.equal({transactionId: 2, interrupted: null, volumes: 1, snapshots: 1})
    expect(report.metadata).to.include({ok: true, clean: true, devices: 3})
    expect(run(t.home, ['check']).stdout).to.equal(
      'metadata: ok (3 devices, 0 mappings)\ncatalog: transaction 2 (pool 2), 1 volumes, 1 snapshots\nok: no damage found\n')
  })

  it('a change a crash cut short after the pool commit: check reports it, the next command completes it', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    crash(t.home, 'txn.afterPoolCommit', ['tag', 'v1@data'])
    const report = ok(t.home, 'check')
    expect(report.catalog).to.deep.include({transactionId: 1, interrupted: {transactionId: 2, outcome: 'roll-forward'}})
    expect(run(t.home, ['check']).stdout).to.include('transaction 2 was interrupted, the next command will complete it')
    expect(ok(t.home, 'status').health).to.deep.equal({ok: true, idsAgree: true, needsCheck: false, recovered: 'rolledForward', problem: null})
    expect((ok(t.home, 'tag') as Json[]).map((x) => x.tag)).to.deep.equal(['v1@data'])
  })

  it('a change a crash cut short before the pool commit: the next command undoes it', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    crash(t.home, 'txn.afterPrepare', ['volume', 'rm', 'data', '--yes'])
    expect(ok(t.home, 'check').catalog.interrupted).to.deep.equal({transactionId: 2, outcome: 'abort'})
    expect(run(t.home, ['status']).stdout).to.include('health         ok, an interrupted change was undone\n')
    expect((ok(t.home, 'volume', 'list') as Json[]).map((v) => v.name)).to.deep.equal(['data'])
    crash(t.home, 'commit.afterSuperblockWrite', ['branch', 'data/feature'])
    expect(ok(t.home, 'status').health.recovered).to.equal('rolledForward')
    expect((ok(t.home, 'branch') as Json[]).map((b) => b.branch)).to.deep.equal(['data/feature', 'data/trunk'])
  })

  it('check: a device the catalog does not name, and one it names that the pool lacks', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    plumbing(t.home, 'thin', 'create', '999')
    expect(damaged(t.home, /device 999 is in the pool but the catalog does not name it$/m).orphanDevices).to.deep.equal([999])
    plumbing(t.home, 'thin', 'delete', '999')
    const trunk = deviceOf(t.home, 'data/trunk')
    plumbing(t.home, 'thin', 'delete', String(trunk))
    const report = damaged(t.home, new RegExp(`device ${trunk} of branch "data/trunk" is missing from the pool`))
    expect(report.missingDevices).to.deep.equal([trunk])
    plumbing(t.home, 'thin', 'create', String(trunk))
  })

  it('transaction ids apart: check fails, status still describes the instance, other commands refuse', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    plumbing(t.home, 'pool', 'set-transaction-id', '1', '7')
    damaged(t.home, /catalog transaction 1 does not match the pool's transaction 7/)
    const status = ok(t.home, 'status')
    expect(status.health).to.deep.include({ok: false, idsAgree: false, needsCheck: false, recovered: null})
    expect(status.health.problem).to.match(/its transaction 1 does not match the pool's transaction 7/)
    const text = run(t.home, ['status'])
    expect(text.status).to.equal(0)
    expect(text.stdout).to.include('ids agree      no\n')
    expect(text.stderr).to.equal('hint: run "fvm check"\n')
    expect(json(t.home, ['volume', 'list'], 5).error.hint).to.equal('run "fvm check"')
    plumbing(t.home, 'pool', 'set-transaction-id', '7', '1')
  })

  it('needs_check set by the kernel: status shows it, check fails', () => {
    const metadata = path.join(t.home, 'pool/metadata')
    const good = fs.readFileSync(metadata)
    const flagged = Buffer.from(good)
    flagged.writeUInt32LE(1, 4) // superblock flags: needs_check
    sealBlock(flagged.subarray(0, 4096), SALT.superblock)
    fs.writeFileSync(metadata, flagged)
    const status = ok(t.home, 'status')
    expect(status.health).to.deep.include({ok: false, idsAgree: true, needsCheck: true})
    expect(run(t.home, ['status']).stdout).to.include('needs_check    set\n')
    damaged(t.home, /needs_check flag set/)
    fs.writeFileSync(metadata, good)
  })

  it('check: damaged metadata and a damaged catalog', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    const metadata = path.join(t.home, 'pool/metadata')
    const good = fs.readFileSync(metadata)
    const broken = Buffer.from(good)
    const detailsRoot = Number(broken.readBigUInt64LE(328)) // the superblock's device-details root
    broken[detailsRoot * 4096 + 40] ^= 0x5a
    fs.writeFileSync(metadata, broken)
    const report = damaged(t.home, /^(error: )?pool metadata: /m)
    expect(report.metadata.ok).to.equal(false)
    expect(report.pool).to.equal(null)
    fs.writeFileSync(metadata, good)

    const catalog = path.join(t.home, 'pool/catalog')
    const record = fs.readFileSync(catalog)
    const garbled = Buffer.from(record)
    // Records start on 4 KiB boundaries past the two headers: damage each of them.
    for (let offset = 8192; offset < garbled.length; offset += 4096) garbled[offset + 10] ^= 0x01
    fs.writeFileSync(catalog, garbled)
    damaged(t.home, /fails its checksum/)
    fs.writeFileSync(catalog, record)
  })

  it('check: a catalog whose records are sound but whose links are not', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    const store = CatalogStore.open<CatalogState>(path.join(t.home, 'pool/catalog'))
    const good = store.committed().value
    const bad = structuredClone(good)
    const volume = Object.values(bad.volumes)[0]
    volume.tags.ghost = {name: 'ghost', snapshot: randomUUID()}
    const commit = (txid: number, state: CatalogState): void => {
      store.prepare(txid, state)
      store.commit()
      plumbing(t.home, 'pool', 'set-transaction-id', String(txid - 1), String(txid))
    }
    try {
      commit(2, bad)
      damaged(t.home, /^(error: )?catalog: tag "ghost@data" names missing snapshot [0-9a-f-]{36}$/m)
      commit(3, good)
    } finally {
      store.close()
    }
  })

  it('every command has help with examples, --home and --json', () => {
    for (const command of COMMANDS) {
      const help = run(t.home, [...command.split(' '), '--help'])
      expect(help.status, command).to.equal(0)
      expect(help.stdout, command).to.include('EXAMPLES').and.include('--home=DIR').and.include('--json')
    }
  })
})
