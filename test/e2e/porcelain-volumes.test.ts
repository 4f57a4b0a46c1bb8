// fvm volume create|list|info|inspect|rm through the built bin/fvm: JSON shapes, text,
// sizes, quotas, block usage, and every kind of bad input refused with its exit code
// and nothing changed.
import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {snapshotTree} from '../support/cli.js'
import {BAD_NAMES, type Json, json, ok, refused, run, useInstance, writeBlocks} from './porcelain-support.js'

const MiB = 2 ** 20
const BLOCK = 64 * 1024
const UUID = /^[0-9a-f-]{36}$/

function setQuota(home: string, quota: string): void {
  fs.appendFileSync(path.join(home, 'fvm.yaml'), `quota: ${quota}\n`)
}

describe('fvm volume (end to end)', function () {
  this.timeout(60_000)
  const t = useInstance()

  it('create: a volume with its trunk, in text and --json, sizes in every accepted form', () => {
    const created = ok(t.home, 'volume', 'create', 'data', '--size', '256MiB')
    expect(created).to.deep.include({name: 'data', size: 256 * MiB, branch: 'data/trunk'})
    expect(Object.keys(created).sort()).to.deep.equal(['branch', 'device', 'name', 'size', 'volume'])
    expect(created.volume).to.match(UUID)
    const text = run(t.home, ['volume', 'create', 'big', '--size', '1TiB'])
    expect(text.status, text.stderr).to.equal(0)
    expect(text.stdout).to.equal('Created volume "big" (1.00 TiB) with branch big/trunk\n')
    expect(ok(t.home, 'volume', 'create', 'tiny', '--size', '4096').size).to.equal(4096)
    expect(ok(t.home, 'volume', 'create', 'ten', '--size', '10G').size).to.equal(10 * 2 ** 30)
    expect((ok(t.home, 'volume', 'list') as Json[]).map((v) => v.name)).to.deep.equal(['big', 'data', 'ten', 'tiny'])
  })

  it('create refuses bad sizes with the usage code, naming the accepted forms', () => {
    for (const [size, why] of [['-1', /must not be negative/], ['12XB', /not a size/], ['10MB', /decimal units/], ['', /not a size/]] as const) {
      expect(refused(t.home, ['volume', 'create', 'data', `--size=${size}`], 2, why).hint).to.include('4096, 64KiB, 256M, 10G, 1TiB')
    }
    refused(t.home, ['volume', 'create', 'data', '--size', '0'], 2, /^invalid size 0: a volume needs at least 1 byte$/)
    refused(t.home, ['volume', 'create', 'data', '--size', '-1'], 2, /must not be negative/)
  })

  it('refuses bad volume names with the usage code, in every volume command', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '1M')
    for (const [name] of BAD_NAMES) {
      refused(t.home, ['volume', 'create', '--size', '1M', '--', name], 2, /^invalid volume name/)
      refused(t.home, ['volume', 'rm', '--yes', '--', name], 2, /^invalid volume name/)
    }
    for (const command of ['info', 'inspect']) refused(t.home, ['volume', command, '../x'], 2, /^invalid volume name "..\/x": must not contain "\/"$/)
  })

  it('unknown volumes: the not-found code; existing names: the conflict code', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '1M')
    for (const command of ['info', 'inspect']) refused(t.home, ['volume', command, 'nope'], 3, /^volume "nope" does not exist$/)
    refused(t.home, ['volume', 'rm', 'nope', '--yes'], 3, /^volume "nope" does not exist$/)
    refused(t.home, ['volume', 'create', 'data', '--size', '1M'], 4, /^volume "data" already exists$/)
    refused(t.home, ['volume', 'create', 'copy', '--from', 'v9@data'], 3, /^tag "v9@data" does not exist$/)
    refused(t.home, ['volume', 'create', 'copy', '--from', 'beta/data/trunk'], 3, /^remote branch "beta\/data\/trunk" does not exist$/)
    refused(t.home, ['volume', 'create', 'copy', '--from', 'data/trunk', '--size', '4096'], 2, /smaller than "data\/trunk"/)
    refused(t.home, ['volume', 'create', 'copy', '--from', 'a/b/c/d'], 2, /^invalid reference "a\/b\/c\/d"/)
  })

  it('create --from copies a tag, a branch or this instance\'s fully named branch; the size defaults to the source\'s', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '8M')
    ok(t.home, 'tag', 'v1@data')
    expect(ok(t.home, 'volume', 'create', 'fromtag', '--from', 'v1@data')).to.include({size: 8 * MiB, branch: 'fromtag/trunk'})
    expect(ok(t.home, 'volume', 'create', 'frombranch', '--from', 'data/trunk', '--size', '16M')).to.include({size: 16 * MiB})
    expect(ok(t.home, 'volume', 'create', 'fromlocal', '--from', 'alpha/data/trunk')).to.include({size: 8 * MiB})
    expect(ok(t.home, 'volume', 'info', 'fromtag').source).to.deep.include({kind: 'copy', ref: 'v1@data'})
  })

  it('list: a table for people, an array of objects for --json, and a hint when empty', () => {
    const empty = run(t.home, ['volume', 'list'])
    expect(empty).to.deep.include({status: 0, stdout: ''})
    expect(empty.stderr).to.include('no volumes yet')
    expect(ok(t.home, 'volume', 'list')).to.deep.equal([])
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    ok(t.home, 'branch', 'data/feature')
    ok(t.home, 'tag', 'v1@data')
    const [entry] = ok(t.home, 'volume', 'list') as Json[]
    expect(entry).to.deep.include({name: 'data', size: 64 * MiB, branches: 2, tags: 1, remoteBranches: 0, usedBlocks: 0, exclusiveBlocks: 0, usedBytes: 0, exclusiveBytes: 0})
    expect(Object.keys(entry).sort()).to.deep.equal(
      ['branches', 'created', 'exclusiveBlocks', 'exclusiveBytes', 'name', 'remoteBranches', 'size', 'tags', 'usedBlocks', 'usedBytes', 'uuid'])
    const table = run(t.home, ['volume', 'list']).stdout.split('\n')
    expect(table[0].split(/\s+/)).to.deep.equal(['NAME', 'SIZE', 'BRANCHES', 'TAGS', 'USED', 'EXCLUSIVE'])
    expect(table[1].split(/\s+/)).to.deep.equal(['data', '64.0', 'MiB', '2', '1', '0', 'B', '0', 'B'])
  })

  it('used and exclusive blocks follow the mappings: shared blocks are no volume\'s alone, and removal frees the exclusive ones', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    writeBlocks(t.home, 'data/trunk', [0, 1, 2, 3])
    ok(t.home, 'tag', 'v1@data')
    writeBlocks(t.home, 'data/trunk', [0, 4]) // block 0 rewritten: the tag keeps the old one
    const usage = (): Record<string, [number, number]> =>
      Object.fromEntries((ok(t.home, 'volume', 'list') as Json[]).map((v) => [v.name, [v.usedBlocks, v.exclusiveBlocks]]))
    expect(usage()).to.deep.equal({data: [6, 6]})
    ok(t.home, 'volume', 'create', 'copy', '--from', 'v1@data')
    expect(usage()).to.deep.equal({copy: [4, 0], data: [6, 2]})
    writeBlocks(t.home, 'copy/trunk', [5])
    expect(usage()).to.deep.equal({copy: [5, 1], data: [6, 2]})
    const info = ok(t.home, 'volume', 'info', 'copy')
    expect(info).to.include({usedBlocks: 5, exclusiveBlocks: 1, usedBytes: 5 * BLOCK, exclusiveBytes: BLOCK})
    const before = ok(t.home, 'status').pool.usedDataBlocks as number
    expect(before).to.equal(7)
    ok(t.home, 'volume', 'rm', 'copy', '--yes')
    expect(ok(t.home, 'status').pool.usedDataBlocks).to.equal(before - 1)
    expect(usage()).to.deep.equal({data: [6, 6]})
  })

  it('info: the catalog\'s view with usage, in text and --json', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '1G')
    ok(t.home, 'tag', 'v1@data')
    ok(t.home, 'branch', 'data/feature')
    const info = ok(t.home, 'volume', 'info', 'data')
    expect(info).to.deep.include({name: 'data', size: 2 ** 30, source: {kind: 'empty'}, remoteBranches: [], usedBlocks: 0})
    expect(info.branches.map((b: Json) => b.branch)).to.deep.equal(['data/feature', 'data/trunk'])
    expect(info.tags.map((b: Json) => b.tag)).to.deep.equal(['v1@data'])
    expect(info.snapshots.map((s: Json) => s.origin.kind)).to.deep.equal(['tag', 'branch-point'])
    const text = run(t.home, ['volume', 'info', 'data']).stdout
    expect(text).to.match(/^volume data\n/)
    expect(text).to.include('size            1.00 GiB (1073741824 bytes)')
    expect(text).to.include('branches        data/feature, data/trunk')
  })

  it('inspect: the catalog record and each device as the pool has it', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    writeBlocks(t.home, 'data/trunk', [0, 1])
    ok(t.home, 'tag', 'v1@data')
    const inspection = ok(t.home, 'volume', 'inspect', 'data')
    expect(inspection.volume).to.include({name: 'data', size: 64 * MiB})
    expect(Object.keys(inspection.volume.branches)).to.deep.equal(['trunk'])
    expect(inspection.snapshots).to.have.length(1)
    const pool = json(t.home, ['plumbing', 'thin', 'list', '--pool', path.join(t.home, 'pool')]).devices as Json[]
    expect(inspection.devices).to.have.length(2)
    for (const d of inspection.devices as Json[]) {
      const {id: _, ...details} = pool.find((p) => p.id === d.device)!
      expect(d.details).to.deep.equal(details)
      expect(d.details.mappedBlocks).to.equal(2)
    }
    expect(inspection.devices.map((d: Json) => d.branch ?? d.snapshot)).to.have.members(['trunk', inspection.snapshots[0].uuid])
    expect(JSON.parse(run(t.home, ['volume', 'inspect', 'data']).stdout)).to.deep.equal(inspection)
  })

  it('rm: without a terminal it needs --yes and changes nothing; with it the volume and its devices go', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    ok(t.home, 'volume', 'create', 'keep', '--size', '64M')
    ok(t.home, 'tag', 'v1@data')
    ok(t.home, 'branch', 'data/feature')
    const error = refused(t.home, ['volume', 'rm', 'data'], 2, /^cannot ask "Remove volume "data".*": not a terminal$/)
    expect(error.hint).to.include('--yes')
    const removed = ok(t.home, 'volume', 'rm', 'data', '--yes')
    expect(removed).to.include({name: 'data'})
    expect(removed.deleted).to.have.length(4) // trunk, feature, the tag, the branch point
    expect((ok(t.home, 'volume', 'list') as Json[]).map((v) => v.name)).to.deep.equal(['keep'])
    const pool = json(t.home, ['plumbing', 'thin', 'list', '--pool', path.join(t.home, 'pool')]).devices as Json[]
    expect(pool.map((d) => d.id)).to.deep.equal([0, ok(t.home, 'volume', 'info', 'keep').branches[0].device])
    expect(run(t.home, ['volume', 'rm', 'keep', '-y']).stdout).to.equal('Removed volume "keep" (1 thin devices deleted)\n')
  })

  it('a missing name or size without a terminal fails fast with a hint naming it', () => {
    const before = snapshotTree(t.home)
    const noName = json(t.home, ['volume', 'create', '--size', '1M'], 2).error
    expect(noName.message).to.match(/^cannot ask "Name of the new volume:": not a terminal$/)
    expect(noName.hint).to.equal('name it: fvm volume create NAME --size SIZE')
    expect(json(t.home, ['volume', 'create', 'data'], 2).error.hint).to.equal('pass --size: fvm volume create NAME --size SIZE')
    for (const command of ['info', 'inspect', 'rm']) {
      expect(json(t.home, ['volume', command], 2).error.hint).to.equal(`name it: fvm volume ${command} NAME`)
    }
    expect(snapshotTree(t.home)).to.deep.equal(before)
  })

  it('quota in fvm.yaml: creating past it fails with the out-of-space code, saying by how much', () => {
    setQuota(t.home, '100MiB')
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    refused(t.home, ['volume', 'create', 'more', '--size', '64M'], 6, /^quota exceeded by 29360128 bytes: volume "more" needs 67108864, volumes already use 67108864 of 104857600$/)
    refused(t.home, ['volume', 'create', 'copy', '--from', 'data/trunk'], 6, /^quota exceeded by 29360128 bytes/)
    expect(ok(t.home, 'volume', 'create', 'fits', '--size', '36M').size).to.equal(36 * MiB)
    expect(ok(t.home, 'status')).to.deep.include({quota: 100 * MiB})
    expect(ok(t.home, 'status').catalog.addressedBytes).to.equal(100 * MiB)
  })

  it('a quota lowered below what volumes use refuses growth but not removal', () => {
    ok(t.home, 'volume', 'create', 'a', '--size', '64M')
    ok(t.home, 'volume', 'create', 'b', '--size', '64M')
    setQuota(t.home, '64M')
    refused(t.home, ['volume', 'create', 'c', '--size', '1M'], 6, /^quota exceeded by 68157440 bytes/)
    ok(t.home, 'tag', 'v1@a')
    ok(t.home, 'volume', 'rm', 'b', '--yes')
    refused(t.home, ['volume', 'create', 'c', '--size', '1M'], 6, /^quota exceeded by 1048576 bytes/)
  })

  it('a bad quota in fvm.yaml is reported with the corrupt code', () => {
    const config = path.join(t.home, 'fvm.yaml')
    const good = fs.readFileSync(config, 'utf8')
    for (const [quota, why] of [['12XB', /invalid quota "12XB": not a size/], ['0', /quota must be more than 0 bytes/], ['[1]', /invalid quota/]] as const) {
      setQuota(t.home, quota)
      refused(t.home, ['volume', 'create', 'data', '--size', '1M'], 5, why)
      fs.writeFileSync(config, good)
    }
  })
})
