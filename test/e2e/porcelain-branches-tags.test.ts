// fvm branch [rm|rename] and fvm tag [rm] through the built bin/fvm: lists, creation
// from every kind of source, removal, renaming, JSON shapes, and bad input refused with
// its exit code and nothing changed.
import {expect} from 'chai'
import {snapshotTree} from '../support/cli.js'
import {BAD_NAMES, type Json, json, ok, refused, run, useInstance, writeBlocks} from './porcelain-support.js'

/** mappedBlocks of each device of the volume, by branch name or tag. */
function mapped(home: string, volume: string): Record<string, number> {
  const inspection = ok(home, 'volume', 'inspect', volume)
  const tagOf = new Map(Object.values(inspection.volume.tags as Record<string, Json>).map((tag) => [tag.snapshot, tag.name]))
  const out: Record<string, number> = {}
  for (const d of inspection.devices as Json[]) {
    const name = d.branch ?? tagOf.get(d.snapshot)
    if (name) out[name] = d.details.mappedBlocks
  }
  return out
}

describe('fvm branch and fvm tag (end to end)', function () {
  this.timeout(60_000)
  const t = useInstance()

  it('branch: lists (table and array), and creates from the trunk, a branch, a tag or a fully named local branch', () => {
    const empty = run(t.home, ['branch'])
    expect(empty.status).to.equal(0)
    expect(empty.stdout).to.equal('')
    expect(empty.stderr).to.include('no branches')
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    ok(t.home, 'tag', 'v1@data')
    const feature = ok(t.home, 'branch', 'data/feature')
    expect(feature).to.include({branch: 'data/feature', from: 'data/trunk'})
    expect(Object.keys(feature).sort()).to.deep.equal(['base', 'branch', 'branchPoint', 'device', 'from'])
    expect(feature.base).to.equal(feature.branchPoint)
    const v1 = (ok(t.home, 'tag') as Json[])[0]
    expect(ok(t.home, 'branch', 'data/hotfix', '--from', 'v1')).to.deep.include({from: 'v1@data', base: v1.snapshot, branchPoint: null})
    expect(ok(t.home, 'branch', 'data/other', '--from', 'v1@data')).to.include({from: 'v1@data'})
    expect(ok(t.home, 'branch', 'data/sub', '--from', 'data/feature')).to.include({from: 'data/feature'})
    expect(ok(t.home, 'branch', 'alpha/data/full')).to.include({branch: 'data/full'})
    const text = run(t.home, ['branch', 'data/text'])
    expect(text.stdout).to.equal('Created branch data/text from data/trunk\n')

    const list = ok(t.home, 'branch') as Json[]
    expect(list.map((b) => b.branch)).to.deep.equal(['data/feature', 'data/full', 'data/hotfix', 'data/other', 'data/sub', 'data/text', 'data/trunk'])
    expect(Object.keys(list[0]).sort()).to.deep.equal(['base', 'branch', 'created', 'device', 'name', 'pushed', 'volume'])
    const table = run(t.home, ['branch']).stdout.split('\n')
    expect(table[0].split(/\s+/)).to.deep.equal(['BRANCH', 'DEVICE', 'BASE', 'CREATED'])
    expect(table[1].split(/\s+/)).to.deep.equal(['data/feature', String(list[0].device), list[0].base.slice(0, 8), list[0].created])
  })

  it('branch: refuses bad names, unknown volumes and sources, existing branches, and sources in other volumes', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '1M')
    ok(t.home, 'volume', 'create', 'else', '--size', '1M')
    ok(t.home, 'tag', 'v1@else')
    for (const [name] of BAD_NAMES.filter(([n]) => n !== '')) refused(t.home, ['branch', '--', `data/${name}`], 2, /^invalid (\w+ name|reference) /)
    refused(t.home, ['branch', 'data/'], 2, /^invalid branch name "" in "data\/": must not be empty$/)
    refused(t.home, ['branch', 'data'], 2, /^invalid reference "data": expected a branch \(VOLUME\/BRANCH\)/)
    refused(t.home, ['branch', 'beta/data/x'], 2, /expected a branch \(VOLUME\/BRANCH\), not a remote branch/)
    refused(t.home, ['branch', 'nope/x'], 3, /^volume "nope" does not exist$/)
    refused(t.home, ['branch', 'data/trunk'], 4, /^branch "data\/trunk" already exists$/)
    refused(t.home, ['branch', 'data/x', '--from', 'v9'], 3, /^tag "v9@data" does not exist$/)
    refused(t.home, ['branch', 'data/x', '--from', 'data/nope'], 3, /^branch "data\/nope" does not exist$/)
    refused(t.home, ['branch', 'data/x', '--from', 'v1@else'], 2, /it is in another volume/)
    refused(t.home, ['branch', '--from', 'data/trunk'], 2, /^--from needs the branch to create$/)
  })

  it('branch rm: needs --yes without a terminal; removes the branch and what only it needed; keeps the last branch', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    ok(t.home, 'branch', 'data/feature')
    const error = refused(t.home, ['branch', 'rm', 'data/feature'], 2, /^cannot ask "Remove branch data\/feature\? .*": not a terminal$/)
    expect(error.hint).to.equal('pass --yes to remove it without asking')
    const device = (ok(t.home, 'branch') as Json[]).find((b) => b.branch === 'data/feature')!.device
    const removed = ok(t.home, 'branch', 'rm', 'data/feature', '--yes')
    expect(removed).to.deep.equal({branch: 'data/feature', deleted: [device]})
    refused(t.home, ['branch', 'rm', 'data/feature', '--yes'], 3, /^branch "data\/feature" does not exist$/)
    refused(t.home, ['branch', 'rm', 'data/trunk', '--yes'], 4, /^cannot remove branch "data\/trunk": it is the last branch of volume "data"$/)
    refused(t.home, ['branch', 'rm', '--yes', '--', '../x'], 2, /^invalid volume name ".." in "..\/x": must not start with "."$/)
    ok(t.home, 'branch', 'data/two')
    expect(run(t.home, ['branch', 'rm', 'data/trunk', '-y']).stdout).to.match(/^Removed branch data\/trunk \(\d thin devices deleted\)\n$/)
    expect((ok(t.home, 'branch') as Json[]).map((b) => b.branch)).to.deep.equal(['data/two'])
  })

  it('branch rename: same device and content under a new name; refuses taken, bad and missing names', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    ok(t.home, 'branch', 'data/feature')
    writeBlocks(t.home, 'data/feature', [0, 1, 2])
    const before = (ok(t.home, 'branch') as Json[]).find((b) => b.branch === 'data/feature')!
    expect(ok(t.home, 'branch', 'rename', 'data/feature', 'experiment')).to.deep.equal({from: 'data/feature', to: 'data/experiment'})
    const after = (ok(t.home, 'branch') as Json[]).find((b) => b.branch === 'data/experiment')!
    expect(after).to.deep.include({device: before.device, base: before.base, created: before.created})
    expect(mapped(t.home, 'data').experiment).to.equal(3)
    refused(t.home, ['branch', 'rename', 'data/experiment', 'trunk'], 4, /^branch "data\/trunk" already exists$/)
    refused(t.home, ['branch', 'rename', 'data/nope', 'x'], 3, /^branch "data\/nope" does not exist$/)
    for (const [name] of BAD_NAMES) refused(t.home, ['branch', 'rename', 'data/experiment', '--', name], 2, /^invalid branch name/)
    const stateBefore = snapshotTree(t.home)
    const missing = json(t.home, ['branch', 'rename', 'data/experiment'], 2).error
    expect(missing.message).to.equal('cannot ask "New name for data/experiment:": not a terminal')
    expect(missing.hint).to.equal('pass the new name: fvm branch rename VOLUME/OLD NEW')
    expect(snapshotTree(t.home)).to.deep.equal(stateBefore)
    expect(run(t.home, ['branch', 'rename', 'data/experiment', 'done']).stdout).to.equal('Renamed branch data/experiment to data/done\n')
  })

  it('tag: lists, and makes read-only points of the trunk or another branch that later writes do not touch', () => {
    const empty = run(t.home, ['tag'])
    expect(empty).to.deep.include({status: 0, stdout: ''})
    expect(empty.stderr).to.include('no tags yet')
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    ok(t.home, 'branch', 'data/feature')
    writeBlocks(t.home, 'data/trunk', [0, 1])
    const v1 = ok(t.home, 'tag', 'v1@data')
    expect(v1).to.include({tag: 'v1@data', from: 'data/trunk'})
    expect(Object.keys(v1).sort()).to.deep.equal(['device', 'from', 'snapshot', 'tag'])
    writeBlocks(t.home, 'data/trunk', [2, 3])
    writeBlocks(t.home, 'data/feature', [7])
    expect(run(t.home, ['tag', 'f1@data', '--from', 'data/feature']).stdout).to.equal('Tagged data/feature as f1@data\n')
    expect(mapped(t.home, 'data')).to.deep.equal({trunk: 4, feature: 1, v1: 2, f1: 1})

    const list = ok(t.home, 'tag') as Json[]
    expect(list.map((x) => x.tag)).to.deep.equal(['f1@data', 'v1@data'])
    expect(list[1]).to.deep.include({volume: 'data', name: 'v1', snapshot: v1.snapshot, device: v1.device})
    expect(Object.keys(list[0]).sort()).to.deep.equal(['created', 'device', 'name', 'snapshot', 'tag', 'volume'])
    const table = run(t.home, ['tag']).stdout.split('\n')
    expect(table[0].split(/\s+/)).to.deep.equal(['TAG', 'SNAPSHOT', 'DEVICE', 'CREATED'])
    expect(table[2].split(/\s+/)).to.deep.equal(['v1@data', v1.snapshot.slice(0, 8), String(v1.device), list[1].created])
  })

  it('tag: refuses bad names, unknown volumes and branches, existing tags', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '1M')
    ok(t.home, 'volume', 'create', 'else', '--size', '1M')
    ok(t.home, 'tag', 'v1@data')
    for (const [name] of BAD_NAMES.filter(([n]) => n !== '')) refused(t.home, ['tag', '--', `${name}@data`], 2, /^invalid (tag name|reference)/)
    refused(t.home, ['tag', 'v1'], 2, /^invalid reference "v1": expected a tag \(TAG@VOLUME\)$/)
    refused(t.home, ['tag', 'v1@a@b'], 2, /more than one "@"/)
    refused(t.home, ['tag', 'v1@nope'], 3, /^volume "nope" does not exist$/)
    const exists = refused(t.home, ['tag', 'v1@data'], 4, /^tag "v1@data" already exists$/)
    expect(exists.hint).to.match(/immutable/)
    refused(t.home, ['tag', 'v2@data', '--from', 'data/nope'], 3, /^branch "data\/nope" does not exist$/)
    refused(t.home, ['tag', 'v2@data', '--from', 'else/trunk'], 2, /it is in another volume/)
    refused(t.home, ['tag', 'v2@data', '--from', 'v1@data'], 2, /expected a branch/)
    refused(t.home, ['tag', '--from', 'data/trunk'], 2, /^--from needs the tag to create$/)
  })

  it('tag rm: needs --yes without a terminal; the snapshot stays while a branch starts from it', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '1M')
    const v1 = ok(t.home, 'tag', 'v1@data')
    ok(t.home, 'tag', 'v2@data')
    refused(t.home, ['tag', 'rm', 'v2@data'], 2, /^cannot ask "Remove tag v2@data\? .*": not a terminal$/)
    // v2 is the trunk's base now (its newest point), so its device stays.
    expect(ok(t.home, 'tag', 'rm', 'v2@data', '--yes')).to.deep.equal({tag: 'v2@data', deleted: []})
    expect(ok(t.home, 'tag', 'rm', 'v1@data', '--yes')).to.deep.equal({tag: 'v1@data', deleted: [v1.device]})
    refused(t.home, ['tag', 'rm', 'v1@data', '--yes'], 3, /^tag "v1@data" does not exist$/)
    refused(t.home, ['tag', 'rm', 'v1', '--yes'], 2, /^invalid reference "v1"/)
    ok(t.home, 'tag', 'v3@data')
    ok(t.home, 'tag', 'v4@data')
    expect(run(t.home, ['tag', 'rm', 'v3@data', '--yes']).stdout).to.equal('Removed tag v3@data\n')
    expect(run(t.home, ['tag', 'rm', 'v4@data', '--yes']).stdout).to.equal('Removed tag v4@data (its snapshot stays while a branch starts from it)\n')
    expect(ok(t.home, 'tag')).to.deep.equal([])
  })
})
