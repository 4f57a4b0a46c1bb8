// fvm rollback [--undo], fvm log and fvm gc through the built bin/fvm: content follows
// the tag and comes back on undo, the history reads like git log, gc collects what
// nothing needs, and bad input is refused with its exit code and nothing changed.
import {expect} from 'chai'
import path from 'node:path'
import {snapshotTree} from '../support/cli.js'
import {BAD_NAMES, type Json, deviceOf, json, ok, refused, run, useInstance, writeBlocks} from './porcelain-support.js'

const UUID = /^[0-9a-f-]{36}$/

/** Blocks where the two devices differ, as the pool's delta says. */
function changed(home: string, left: number, right: number): number {
  return json(home, ['plumbing', 'thin', 'delta', '--pool', path.join(home, 'pool'), String(left), String(right)]).changedBlocks as number
}

describe('fvm rollback, log and gc (end to end)', function () {
  this.timeout(60_000)
  const t = useInstance()

  it('rollback: the branch takes the tag\'s content, says how to undo, and --undo brings back what it held', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    writeBlocks(t.home, 'data/trunk', [0, 1])
    const v1 = ok(t.home, 'tag', 'v1@data')
    writeBlocks(t.home, 'data/trunk', [1, 2, 3])
    const before = deviceOf(t.home, 'data/trunk')
    const refusedError = refused(t.home, ['rollback', 'data/trunk', 'v1'], 2, /^cannot ask "Roll data\/trunk back to v1\? .*": not a terminal$/)
    expect(refusedError.hint).to.equal('pass --yes to go ahead without asking')

    const rolled = ok(t.home, 'rollback', 'data/trunk', 'v1', '--yes')
    expect(rolled).to.include({branch: 'data/trunk', to: v1.snapshot})
    expect(Object.keys(rolled).sort()).to.deep.equal(['branch', 'device', 'displaced', 'to'])
    expect(rolled.displaced).to.match(UUID)
    expect(changed(t.home, v1.device, rolled.device)).to.equal(0)
    expect(changed(t.home, before, rolled.device)).to.equal(3)

    const undone = ok(t.home, 'rollback', '--undo', 'data/trunk', '--yes')
    expect(undone.to).to.equal(rolled.displaced)
    expect(changed(t.home, before, undone.device)).to.equal(0)
    const redo = run(t.home, ['rollback', '--undo', 'data/trunk', '--yes'])
    expect(redo.stdout).to.equal('Undid the last rollback of data/trunk; to undo: fvm rollback --undo data/trunk\n')
    expect(changed(t.home, v1.device, deviceOf(t.home, 'data/trunk'))).to.equal(0)
    const text = run(t.home, ['rollback', 'data/trunk', 'v1@data', '-y'])
    expect(text.stdout).to.equal('Rolled data/trunk back to v1@data; to undo: fvm rollback --undo data/trunk\n')
  })

  it('rollback: refuses unknown, bad and mismatched references, and an undo with nothing to undo', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '1M')
    ok(t.home, 'volume', 'create', 'else', '--size', '1M')
    ok(t.home, 'tag', 'v1@data')
    ok(t.home, 'tag', 'e1@else')
    refused(t.home, ['rollback', 'data/nope', 'v1', '--yes'], 3, /^branch "data\/nope" does not exist$/)
    refused(t.home, ['rollback', 'nope/trunk', 'v1', '--yes'], 3, /^volume "nope" does not exist$/)
    refused(t.home, ['rollback', 'data/trunk', 'v9', '--yes'], 3, /^tag "v9@data" does not exist$/)
    refused(t.home, ['rollback', 'data/trunk', 'e1@else', '--yes'], 2, /the tag is in another volume/)
    refused(t.home, ['rollback', '--undo', 'data/trunk', '--yes'], 4, /^branch "data\/trunk" has no rollback to undo$/)
    refused(t.home, ['rollback', '--undo', 'data/trunk', 'v1', '--yes'], 2, /^--undo takes the branch alone, not a tag$/)
    for (const [name] of BAD_NAMES.filter(([n]) => n !== '')) {
      refused(t.home, ['rollback', '--yes', '--', 'data/trunk', name], 2, /^invalid (\w+ name|reference) /)
      refused(t.home, ['rollback', '--yes', '--', `data/${name}`, 'v1'], 2, /^invalid (\w+ name|reference) /)
    }
    const before = snapshotTree(t.home)
    expect(json(t.home, ['rollback'], 2).error.hint).to.equal('name it: fvm rollback VOLUME/BRANCH TAG')
    expect(json(t.home, ['rollback', 'data/trunk'], 2).error.hint).to.equal('name the tag: fvm rollback VOLUME/BRANCH TAG')
    expect(json(t.home, ['rollback', '--undo'], 2).error.hint).to.equal('name it: fvm rollback --undo VOLUME/BRANCH')
    expect(snapshotTree(t.home)).to.deep.equal(before)
  })

  it('log: a volume\'s and a branch\'s history, newest first, as JSON and as git-log-like text', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    const v1 = ok(t.home, 'tag', 'v1@data')
    const feature = ok(t.home, 'branch', 'data/feature')
    const rolled = ok(t.home, 'rollback', 'data/trunk', 'v1', '--yes')

    const volume = ok(t.home, 'log', 'data')
    expect(volume).to.include({ref: 'data', volume: 'data'})
    const kinds = (volume.entries as Json[]).map((e) => `${e.kind}:${e.action ?? e.origin?.kind ?? e.volume}:${e.branch ?? ''}`)
    expect(kinds).to.deep.equal([
      'reflog:rollback:data/trunk',
      'reflog:create:data/feature',
      'snapshot:branch-point:',
      'snapshot:tag:',
      'reflog:create:data/trunk',
      'volume:data:',
    ])
    const [rollback, , point, tag, , created] = volume.entries as Json[]
    expect(rollback).to.deep.include({to: v1.snapshot, tags: ['v1@data'], displaced: rolled.displaced})
    expect(point).to.deep.include({snapshot: feature.branchPoint, origin: {kind: 'branch-point', branch: 'feature', from: 'trunk'}})
    expect(tag).to.deep.include({snapshot: v1.snapshot, tags: ['v1@data'], device: v1.device, parent: null})
    expect(created).to.deep.include({size: 64 * 2 ** 20, source: {kind: 'empty'}})
    const times = (volume.entries as Json[]).map((e) => Date.parse(e.time))
    expect(times).to.deep.equal([...times].sort((a, b) => b - a))

    const branch = ok(t.home, 'log', 'data/feature')
    expect(branch.ref).to.equal('data/feature')
    expect((branch.entries as Json[]).map((e) => e.kind)).to.deep.equal(['reflog', 'snapshot', 'snapshot'])
    expect((branch.entries as Json[])[2].tags).to.deep.equal(['v1@data'])
    expect(ok(t.home, 'log', 'v1@data').entries).to.have.length(1)
    expect(ok(t.home, 'log', 'alpha/data/trunk').ref).to.equal('data/trunk')

    const text = run(t.home, ['log', 'data/trunk']).stdout
    expect(text).to.match(new RegExp(`^rollback data/trunk\\nDate: \\S+\\n    data/trunk rolled back to ${v1.snapshot.slice(0, 8)} \\(v1@data\\); ` +
      `what it held is kept as ${rolled.displaced.slice(0, 8)}\\n\\nsnapshot ${v1.snapshot.slice(0, 8)} \\(v1@data\\)\\nDate: \\S+\\n    tagged v1\\n\\n`))
    expect(text).to.match(/\ncreate data\/trunk\nDate: \S+\n {4}data\/trunk created empty\n$/)
  })

  it('log: refuses unknown and bad references', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '1M')
    refused(t.home, ['log', 'nope'], 3, /^volume "nope" does not exist$/)
    refused(t.home, ['log', 'data/nope'], 3, /^branch "data\/nope" does not exist$/)
    refused(t.home, ['log', 'v1@data'], 3, /^tag "v1@data" does not exist$/)
    refused(t.home, ['log', 'beta/data/trunk'], 3, /^remote branch "beta\/data\/trunk" does not exist$/)
    // a/b/c names a remote branch here (log takes those); one more part is too many.
    for (const [name] of BAD_NAMES) refused(t.home, ['log', '--', name === 'a/b/c' ? 'a/b/c/d' : name], 2, /^invalid (\w+ name|reference) /)
    expect(json(t.home, ['log'], 2).error.hint).to.equal('name it: fvm log VOLUME or fvm log VOLUME/BRANCH')
  })

  it('gc: --dry-run shows what goes and changes nothing; gc deletes it; with nothing to do it changes nothing', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    ok(t.home, 'tag', 'v1@data')
    const v2 = ok(t.home, 'tag', 'v2@data')
    ok(t.home, 'tag', 'rm', 'v2@data', '--yes') // still the trunk's base: kept
    ok(t.home, 'tag', 'v3@data') // now nothing needs v2's snapshot
    const before = snapshotTree(t.home)
    const plan = ok(t.home, 'gc', '--dry-run')
    expect(plan).to.deep.include({dryRun: true, expired: [], forgotten: []})
    expect(plan.collected).to.have.length(1)
    expect(plan.collected[0]).to.deep.include({snapshot: v2.snapshot, volume: 'data', device: v2.device, origin: {kind: 'tag', tag: 'v2'}})
    expect(run(t.home, ['gc', '--dry-run']).stdout).to.equal(
      `would delete device ${v2.device}: snapshot ${v2.snapshot.slice(0, 8)} of data (tag, ${plan.collected[0].created})\n` +
      'would collect 1 devices, 0 reflog entries, 0 snapshot records\n')
    expect(snapshotTree(t.home)).to.deep.equal(before)

    const done = ok(t.home, 'gc')
    expect(done).to.deep.equal({...plan, dryRun: false})
    const devices = (json(t.home, ['plumbing', 'thin', 'list', '--pool', path.join(t.home, 'pool')]).devices as Json[]).map((d) => d.id)
    expect(devices).not.to.include(v2.device)
    const idle = snapshotTree(t.home)
    expect(ok(t.home, 'gc')).to.deep.equal({dryRun: false, collected: [], expired: [], forgotten: [], abandoned: []})
    expect(snapshotTree(t.home)).to.deep.equal(idle)
  })

  it('gc keeps the newest 10 rollback entries of a branch and collects what the older ones kept', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    ok(t.home, 'tag', 'v1@data')
    for (let i = 0; i < 11; i++) ok(t.home, 'rollback', 'data/trunk', 'v1', '--yes')
    const report = ok(t.home, 'gc')
    expect(report.expired).to.deep.equal([{branch: 'data/trunk', entries: 2}])
    expect(report.collected).to.have.length(1)
    expect(report.collected[0].origin).to.deep.equal({kind: 'displaced', branch: 'trunk', by: 'rollback'})
    expect(ok(t.home, 'log', 'data/trunk').entries.filter((e: Json) => e.kind === 'reflog')).to.have.length(10)
    ok(t.home, 'rollback', '--undo', 'data/trunk', '--yes')
  })
})
