// The plumbing commands through the built bin/fvm: JSON out, exit codes for bad input,
// nothing changed by a refused command, and the real thin_check (0.9 and 1.x) passing
// on every pool they leave behind.
import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {fvm, jsonOf, snapshotTree, tempDir} from '../support/cli.js'
import {assertThinCheckPasses, THIN_TOOLS, thinTools} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'

interface Json {
  [k: string]: unknown
}

function plumbing(...args: string[]): {status: number, json: Json, stderr: string} {
  const r = fvm(['plumbing', ...args])
  return {status: r.status, json: jsonOf<Json>(r), stderr: r.stderr}
}

function ok(...args: string[]): Json {
  const r = plumbing(...args)
  expect(r.status, JSON.stringify(r.json)).to.equal(0)
  return r.json
}

describe('fvm plumbing (end to end)', function () {
  this.timeout(120_000)
  let dir: string
  let pool: string
  before(function () {
    needTools(this, ...THIN_TOOLS)
  })
  beforeEach(() => {
    dir = tempDir()
    pool = path.join(dir, 'pool')
  })
  afterEach(() => fs.rmSync(dir, {recursive: true, force: true}))

  it('formats a pool the real tools accept, with device 0 reserved', () => {
    const report = ok('pool', 'format', '--pool', pool, '--data-blocks', '4096', '--block-size', '128KiB')
    expect(report).to.include({pool, dataBlockSize: 131072, totalDataBlocks: 4096, usedDataBlocks: 0, transactionId: 0, devices: 1, heldRoot: null})
    expect(fs.readdirSync(pool).sort()).to.deep.equal(['data', 'metadata'])
    expect(fs.statSync(path.join(pool, 'data')).size).to.equal(4096 * 131072)
    expect(fs.statSync(path.join(pool, 'metadata')).size).to.equal(2 * 1024 * 1024)
    assertThinCheckPasses(path.join(pool, 'metadata'))
    expect(ok('thin', 'list', '--pool', pool)).to.deep.equal({devices: [{id: 0, mappedBlocks: 0, transactionId: 0, creationTime: 0, snapshottedTime: 0}]})
  })

  it('creates, snapshots, lists, maps and deletes devices', () => {
    ok('pool', 'format', '--pool', pool, '--data-blocks', '1024')
    expect(ok('thin', 'create', '--pool', pool, '1')).to.deep.equal({id: 1, mappedBlocks: 0, transactionId: 0, creationTime: 0, snapshottedTime: 0})
    expect(ok('thin', 'snap', '--pool', pool, '2', '1')).to.deep.equal({id: 2, mappedBlocks: 0, transactionId: 0, creationTime: 1, snapshottedTime: 1})
    expect((ok('thin', 'list', '--pool', pool).devices as Json[]).map((d) => d.id)).to.deep.equal([0, 1, 2])
    expect(ok('thin', 'map', '--pool', pool, '2')).to.deep.equal({
      device: {id: 2, mappedBlocks: 0, transactionId: 0, creationTime: 1, snapshottedTime: 1}, mappings: [], count: 0})
    expect(ok('thin', 'delete', '--pool', pool, '1')).to.deep.equal({id: 1, deleted: true})
    expect(ok('pool', 'status', '--pool', pool)).to.include({time: 1, devices: 2})
    assertThinCheckPasses(path.join(pool, 'metadata'))
  })

  it('set-transaction-id is a compare-and-swap', () => {
    ok('pool', 'format', '--pool', pool, '--data-blocks', '1024')
    expect(ok('pool', 'set-transaction-id', '--pool', pool, '0', '7')).to.include({transactionId: 7})
    const before = snapshotTree(pool)
    const lost = plumbing('pool', 'set-transaction-id', '--pool', pool, '0', '8')
    expect(lost.status).to.equal(4)
    expect((lost.json.error as Json).kind).to.equal('conflict')
    expect(snapshotTree(pool)).to.deep.equal(before)
    assertThinCheckPasses(path.join(pool, 'metadata'))
  })

  it('dump equals the real thin_dump, and restore of it reproduces the pool', () => {
    ok('pool', 'format', '--pool', pool, '--data-blocks', '1024')
    ok('thin', 'create', '--pool', pool, '5')
    ok('thin', 'snap', '--pool', pool, '6', '5')
    ok('pool', 'set-transaction-id', '--pool', pool, '0', '3')
    const ours = fvm(['plumbing', 'pool', 'dump', '--pool', pool])
    expect(ours.status, ours.stderr).to.equal(0)
    expect(ours.stdout).to.equal(thinTools.dump(path.join(pool, 'metadata'), 'v0.9').stdout)
    const xml = path.join(dir, 'pool.xml')
    fs.writeFileSync(xml, ours.stdout)
    const copy = path.join(dir, 'copy')
    const restored = ok('pool', 'restore', '--pool', copy, '--input', xml)
    expect(restored).to.include({transactionId: 3, time: 1, devices: 3})
    expect(restored.restored).to.deep.equal({devices: 3, mappings: 0})
    expect(fs.readdirSync(copy).sort()).to.deep.equal(['data', 'metadata'])
    expect(fvm(['plumbing', 'pool', 'dump', '--pool', copy]).stdout).to.equal(ours.stdout)
    assertThinCheckPasses(path.join(copy, 'metadata'))
  })

  it('restore refuses bad XML and leaves nothing behind', () => {
    const xml = path.join(dir, 'bad.xml')
    fs.writeFileSync(xml, '<superblock uuid="" time="0" transaction="0" data_block_size="128" nr_data_blocks="16">\n  <device dev_id="1" mapped_blocks="1" transaction="0" creation_time="0" snap_time="0">\n    <single_mapping origin_block="0" data_block="99" time="0"/>\n  </device>\n</superblock>\n')
    const r = plumbing('pool', 'restore', '--pool', pool, '--input', xml)
    expect(r.status).to.equal(5)
    expect((r.json.error as Json).message).to.match(/^xml line 3/)
    expect(fs.existsSync(pool) ? fs.readdirSync(pool) : []).to.deep.equal([])
  })

  it('check passes a healthy pool and fails a damaged one with the corrupt code', () => {
    ok('pool', 'format', '--pool', pool, '--data-blocks', '1024')
    ok('thin', 'create', '--pool', pool, '1')
    expect(ok('pool', 'check', '--pool', pool)).to.include({ok: true, clean: true, fatal: 0, leaks: 0, devices: 2})
    // Damage the device-details root: the superblock names it at byte 328.
    const meta = path.join(pool, 'metadata')
    const fd = fs.openSync(meta, 'r+')
    const sb = Buffer.alloc(4096)
    fs.readSync(fd, sb, 0, 4096, 0)
    const detailsRoot = Number(sb.readBigUInt64LE(328))
    fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, detailsRoot * 4096 + 40)
    fs.closeSync(fd)
    const r = plumbing('pool', 'check', '--pool', pool)
    expect(r.status).to.equal(5)
    expect(r.json).to.include({ok: false})
    expect(r.json.fatal as number).to.be.above(0)
    expect(thinTools.check(meta, 'v1').status).to.not.equal(0)
  })

  it('one process at a time: a held lock refuses with the conflict code, a dead owner\'s lock is taken over', () => {
    ok('pool', 'format', '--pool', pool, '--data-blocks', '64')
    const lock = path.join(pool, 'lock')
    fs.writeFileSync(lock, `${process.pid}\n`)
    const busy = plumbing('thin', 'create', '--pool', pool, '1')
    expect(busy.status).to.equal(4)
    expect((busy.json.error as Json).message).to.equal(`pool "${pool}" is busy: process ${process.pid} holds its lock`)
    // Readers wait their turn too: a writer may reuse blocks a reader still sees.
    expect(plumbing('thin', 'list', '--pool', pool).status).to.equal(4)
    // A pid that cannot be alive: beyond the kernel's pid_max.
    fs.writeFileSync(lock, '4194305\n')
    expect(ok('thin', 'create', '--pool', pool, '1')).to.include({id: 1})
    expect(fs.readdirSync(pool).sort()).to.deep.equal(['data', 'metadata'])
  })

  describe('bad input: a clear error, the documented code, nothing changed', () => {
    const cases: [string, string[], number, RegExp][] = [
      ['device id out of range', ['thin', 'create', '1'.padEnd(9, '0')], 2, /device id/],
      ['device id not a number', ['thin', 'create', 'abc'], 2, /invalid device id "abc"/],
      ['negative device id', ['thin', 'create', '--', '-1'], 2, /invalid device id "-1"/],
      ['existing device', ['thin', 'create', '1'], 4, /thin device 1 already exists/],
      ['snapshot of a missing origin', ['thin', 'snap', '9', '8'], 3, /8/],
      ['delete of a missing device', ['thin', 'delete', '8'], 3, /8/],
      ['map of a missing device', ['thin', 'map', '8'], 3, /8/],
      ['bad transaction id', ['pool', 'set-transaction-id', 'x', '1'], 2, /invalid transaction id "x"/],
      ['unknown flag', ['thin', 'list', '--bogus'], 2, /nonexistent flag/],
    ]
    for (const [title, args, code, message] of cases) {
      it(title, () => {
        ok('pool', 'format', '--pool', pool, '--data-blocks', '64')
        ok('thin', 'create', '--pool', pool, '1')
        const before = snapshotTree(pool)
        const [topic, verb, ...rest] = args
        const r = plumbing(topic, verb, '--pool', pool, ...rest)
        expect(r.status, JSON.stringify(r.json)).to.equal(code)
        expect((r.json.error as Json).message).to.match(message)
        expect(snapshotTree(pool)).to.deep.equal(before)
      })
    }

    it('a missing pool is "not found"', () => {
      const r = plumbing('pool', 'status', '--pool', path.join(dir, 'nowhere'))
      expect(r.status).to.equal(3)
      expect((r.json.error as Json).message).to.equal(`no pool at "${path.join(dir, 'nowhere')}"`)
    })

    it('format refuses an existing pool', () => {
      ok('pool', 'format', '--pool', pool, '--data-blocks', '64')
      const before = snapshotTree(pool)
      const r = plumbing('pool', 'format', '--pool', pool, '--data-blocks', '64')
      expect(r.status).to.equal(4)
      expect(snapshotTree(pool)).to.deep.equal(before)
    })

    it('format refuses a block size that is not a multiple of 64KiB', () => {
      const r = plumbing('pool', 'format', '--pool', pool, '--data-blocks', '64', '--block-size', '96KiB')
      expect(r.status).to.equal(2)
      expect(fs.existsSync(path.join(pool, 'metadata'))).to.equal(false)
    })

    it('a damaged superblock is "corrupt"', () => {
      ok('pool', 'format', '--pool', pool, '--data-blocks', '64')
      const meta = path.join(pool, 'metadata')
      const fd = fs.openSync(meta, 'r+')
      fs.writeSync(fd, Buffer.from([0xff]), 0, 1, 100)
      fs.closeSync(fd)
      const r = plumbing('thin', 'list', '--pool', pool)
      expect(r.status).to.equal(5)
      expect((r.json.error as Json).kind).to.equal('corrupt')
    })
  })
})
