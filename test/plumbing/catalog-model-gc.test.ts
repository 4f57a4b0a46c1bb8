// gc: which snapshots keep their device, which records stay for the lineage, the
// reflog retention, and the dry run.
import {expect} from 'chai'
import type {CatalogState} from '../../src/plumbing/catalog/model.js'
import {createBranch, removeBranch} from '../../src/plumbing/catalog/ops-branches.js'
import {DEFAULT_REFLOG_KEEP, gc, planGc, snapshotUsers} from '../../src/plumbing/catalog/ops-gc.js'
import {createPushBase, recordPush, removeRemoteBranch} from '../../src/plumbing/catalog/ops-remote.js'
import {rollback, rollbackUndo} from '../../src/plumbing/catalog/ops-rollback.js'
import {createTag, removeTag} from '../../src/plumbing/catalog/ops-tags.js'
import {createVolume} from '../../src/plumbing/catalog/ops-volumes.js'
import {GiB, TestContext, emptyState, expectFvmError, receiveWhole, stateOf} from './catalog-model-fixtures.js'

let ctx: TestContext

function mydata(state: CatalogState) {
  return Object.values(state.volumes)[0]
}

/** mydata with tag v1 (device 2) and n rollbacks of trunk to it. */
function rolledBack(n: number): CatalogState {
  let state = stateOf(createVolume(emptyState(), {name: 'mydata', size: GiB}, ctx))
  state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
  for (let i = 0; i < n; i++) state = stateOf(rollback(state, {branch: 'mydata/trunk', tag: 'v1'}, ctx.tick()))
  return state
}

describe('catalog model gc', () => {
  beforeEach(() => {
    ctx = new TestContext()
  })

  it('finds nothing to do in a fresh state', () => {
    const state = rolledBack(3)
    const m = gc(state)
    expect(m.plan).to.deep.equal([])
    expect(m.result).to.deep.equal({collected: [], expired: [], forgotten: [], abandoned: []})
    expect(stateOf(m)).to.deep.equal(state)
  })

  it('expires reflog entries past the retention and deletes what only they kept', () => {
    const state = rolledBack(DEFAULT_REFLOG_KEEP + 2)
    // Rollbacks displaced devices 1, 3, 4, ...: entries 10 and 11 (displacing 1 and 3) and "create" expire.
    const m = gc(state)
    const trunk = mydata(stateOf(m)).branches.trunk
    expect(trunk.reflog).to.have.length(DEFAULT_REFLOG_KEEP)
    expect(m.plan).to.deep.equal([
      {op: 'delete', id: 1},
      {op: 'delete', id: 3},
    ])
    expect(m.result.expired).to.deep.equal([{branch: 'mydata/trunk', entries: 3}])
    expect(m.result.collected.map((c) => c.device)).to.deep.equal([1, 3])
    expect(m.result.collected[0]).to.deep.include({volume: 'mydata', origin: {kind: 'displaced', branch: 'trunk', by: 'rollback'}})
    // Their records have no parent that matters (they descend from v1) and nothing leads to them.
    expect(m.result.forgotten).to.deep.equal(m.result.collected.map((c) => c.snapshot))
    expect(gc(m.state).plan).to.deep.equal([])
  })

  it('keeps the newest undo restorable with the smallest retention', () => {
    let state = rolledBack(2)
    state = stateOf(gc(state, {reflogKeep: 1}))
    expect(mydata(state).branches.trunk.reflog).to.have.length(1)
    expect(rollbackUndo(state, {branch: 'mydata/trunk'}, ctx).plan).to.deep.equal([{op: 'create_snap', id: 5, origin: 3}])
  })

  it('keeps tags, branch bases and remote heads, and the records of their ancestors', () => {
    let state = rolledBack(0)
    state = stateOf(createBranch(state, {branch: 'mydata/dev'}, ctx)) // branch point 3, dev 4
    state = stateOf(createTag(state, {tag: 'v2@mydata', from: 'mydata/dev'}, ctx)) // 5, parent: branch point
    state = stateOf(removeTag(state, {tag: 'v1@mydata'})) // v1 (2) is the parent of the branch point: record stays
    const users = snapshotUsers(state)
    const point = mydata(state).branches.trunk.base as string
    expect(users.get(point)).to.deep.equal(['base of branch "mydata/trunk"'])
    const m = gc(state)
    expect(m.plan).to.deep.equal([])
    expect(m.result.forgotten).to.deep.equal([])
    // Once trunk moves on, the branch point is only an ancestor: its device goes, its record stays.
    state = stateOf(createTag(state, {tag: 'v3@mydata'}, ctx))
    const after = gc(state)
    expect(after.plan).to.deep.equal([{op: 'delete', id: 3}])
    expect(stateOf(after).snapshots[point]).to.deep.include({device: null})
  })

  it('forgets records nothing leads to', () => {
    let state = rolledBack(0)
    state = stateOf(createBranch(state, {branch: 'mydata/dev', from: 'v1'}, ctx))
    const back = rollback(state, {branch: 'mydata/dev', tag: 'v1'}, ctx)
    state = stateOf(removeBranch(stateOf(back), {branch: 'mydata/dev'}))
    // The removal deleted the displaced device at once; its record waits for gc.
    expect(state.snapshots[back.result.displaced].device).to.equal(null)
    const m = gc(state)
    expect(m.plan).to.deep.equal([])
    expect(m.result.forgotten).to.deep.equal([back.result.displaced])
    expect(Object.keys(stateOf(m).snapshots)).to.deep.equal([mydata(state).tags.v1.snapshot])
  })

  it('offers a dry run that reports exactly what gc would do', () => {
    let state = rolledBack(12)
    state = stateOf(createBranch(state, {branch: 'mydata/dev'}, ctx))
    state = stateOf(removeBranch(state, {branch: 'mydata/dev'}))
    const frozen = structuredClone(state)
    expect(planGc(state, {reflogKeep: 2})).to.deep.equal(gc(state, {reflogKeep: 2}).result)
    expect(state).to.deep.equal(frozen)
  })

  it('finds no pushed-over base or superseded remote head: each goes as it is superseded', () => {
    let state = rolledBack(0)
    const trunk = mydata(state).branches.trunk.device
    const first = createPushBase(state, {branch: 'mydata/trunk'}, ctx)
    state = stateOf(first)
    // A base no push recorded (an interrupted push may resume from it) stays until gc.
    const second = createPushBase(state, {branch: 'mydata/trunk'}, ctx)
    expect(second.plan).to.deep.equal([{op: 'create_snap', id: second.result.device, origin: trunk}])
    const collected = gc(stateOf(second))
    expect(collected.plan).to.deep.equal([{op: 'delete', id: first.result.device}])
    state = stateOf(recordPush(stateOf(collected), {branch: 'mydata/trunk', instance: 'beta', snapshot: second.result.snapshot}))
    // A base a push recorded stays until the next push to that instance replaces it.
    const third = createPushBase(state, {branch: 'mydata/trunk'}, ctx)
    expect(third.plan).to.deep.equal([{op: 'create_snap', id: third.result.device, origin: trunk}])
    const recorded = recordPush(stateOf(third), {branch: 'mydata/trunk', instance: 'beta', snapshot: third.result.snapshot})
    expect(recorded.plan).to.deep.equal([{op: 'delete', id: second.result.device}])
    state = stateOf(recorded)
    expect(gc(state).plan).to.deep.equal([])
    const volume = {uuid: mydata(state).uuid, name: 'mydata', size: GiB}
    // The second head is a delta on the first (a fast-forward): the first is only its parent then.
    const received = (uuid: string, expected: string | null) =>
      receiveWhole(
        state,
        {instance: 'beta', volume, branch: 'trunk', snapshot: {uuid, parent: expected, created: ctx.now}, base: expected, expected},
        ctx,
      )
    const a = received('aaaaaaaa-0000-4000-8000-000000000001', null)
    state = stateOf(a)
    const b = received('aaaaaaaa-0000-4000-8000-000000000002', 'aaaaaaaa-0000-4000-8000-000000000001')
    expect(b.plan.at(-1)).to.deep.equal({op: 'delete', id: a.result.device})
    state = stateOf(b)
    expect(gc(state).plan).to.deep.equal([])
    state = stateOf(removeRemoteBranch(state, {remoteBranch: 'beta/mydata/trunk'}))
    expect(gc(state).plan).to.deep.equal([])
  })

  it('refuses a retention below one entry', () => {
    for (const reflogKeep of [0, -1, 1.5]) {
      expectFvmError(() => gc(rolledBack(0), {reflogKeep}), 'usage', /^invalid reflog retention/)
    }
  })
})
