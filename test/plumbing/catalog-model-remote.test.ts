// The catalog's side of replication: push bases, push records, received remote-branch
// heads, and what can be made from them.
import {expect} from 'chai'
import type {CatalogState} from '../../src/plumbing/catalog/model.js'
import {createBranch, removeBranch} from '../../src/plumbing/catalog/ops-branches.js'
import {gc} from '../../src/plumbing/catalog/ops-gc.js'
import {
  createPushBase,
  recordPush,
  removeRemoteBranch,
} from '../../src/plumbing/catalog/ops-remote.js'
import type {ReceiveRequest} from '../../src/plumbing/catalog/ops-receive.js'
import {createTag} from '../../src/plumbing/catalog/ops-tags.js'
import {createVolume} from '../../src/plumbing/catalog/ops-volumes.js'
import {GiB, TestContext, emptyState, expectFvmError, receiveWhole, stateOf} from './catalog-model-fixtures.js'

let ctx: TestContext

const VOLUME = {uuid: 'bbbbbbbb-0000-4000-8000-000000000000', name: 'mydata', size: GiB}
const S1 = 'bbbbbbbb-0000-4000-8000-000000000001'
const S2 = 'bbbbbbbb-0000-4000-8000-000000000002'
const S3 = 'bbbbbbbb-0000-4000-8000-000000000003'

function sent(uuid: string, fields: Partial<ReceiveRequest> = {}): ReceiveRequest {
  return {
    instance: 'beta',
    volume: VOLUME,
    branch: 'trunk',
    snapshot: {uuid, parent: null, created: '2023-12-31T00:00:00.000Z'},
    base: null,
    expected: null,
    force: false,
    ...fields,
  }
}

function mydata(state: CatalogState) {
  return state.volumes[VOLUME.uuid] ?? Object.values(state.volumes)[0]
}

/** mydata received from beta: trunk's head S1 on device 1. */
function received(state = emptyState()): CatalogState {
  return stateOf(receiveWhole(state, sent(S1), ctx))
}

describe('catalog model replication', () => {
  beforeEach(() => {
    ctx = new TestContext()
  })

  describe('createPushBase', () => {
    it('freezes the branch into a snapshot that becomes its base', () => {
      let state = stateOf(createVolume(emptyState(), {name: 'mydata', size: GiB}, ctx))
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      const v1 = mydata(state).tags.v1.snapshot
      const m = createPushBase(state, {branch: 'mydata/trunk'}, ctx)
      expect(m.plan).to.deep.equal([{op: 'create_snap', id: 3, origin: 1}])
      const after = stateOf(m)
      expect(after.snapshots[m.result.snapshot]).to.deep.include({parent: v1, device: 3, origin: {kind: 'push-base', branch: 'trunk'}})
      expect(mydata(after).branches.trunk.base).to.equal(m.result.snapshot)
    })
  })

  describe('recordPush', () => {
    it('keeps the snapshot an instance holds as the next delta base', () => {
      let state = stateOf(createVolume(emptyState(), {name: 'mydata', size: GiB}, ctx))
      const pushed = createPushBase(state, {branch: 'mydata/trunk'}, ctx)
      state = stateOf(recordPush(stateOf(pushed), {branch: 'mydata/trunk', instance: 'beta', snapshot: pushed.result.snapshot}))
      expect(mydata(state).branches.trunk.pushed).to.deep.equal({beta: pushed.result.snapshot})
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      expect(gc(state).plan).to.deep.equal([])
      expect(removeBranch(stateOf(createBranch(state, {branch: 'mydata/dev'}, ctx)), {branch: 'mydata/trunk'}).plan).to.deep.equal([
        {op: 'delete', id: 1},
        {op: 'delete', id: 2},
      ])
    })

    it('refuses this instance and snapshots it cannot keep', () => {
      const state = stateOf(createVolume(emptyState(), {name: 'mydata', size: GiB}, ctx))
      expectFvmError(() => recordPush(state, {branch: 'mydata/trunk', instance: 'alpha', snapshot: S1}), 'usage', /that is this instance/)
      expectFvmError(
        () => recordPush(state, {branch: 'mydata/trunk', instance: 'beta', snapshot: S1}),
        'notFound',
        new RegExp(`^snapshot ${S1} of volume "mydata"`),
      )
      expectFvmError(() => recordPush(state, {branch: 'mydata/trunk', instance: 'b/c', snapshot: S1}), 'usage', /^invalid instance name/)
    })
  })

  describe('receiveRemoteBranch', () => {
    it('creates the volume from a full stream: a new thin device for the head', () => {
      const m = receiveWhole(emptyState(), sent(S1), ctx)
      expect(m.plan).to.deep.equal([{op: 'create_thin', id: 1}])
      expect(m.result).to.deep.equal({
        remoteBranch: 'beta/mydata/trunk',
        volume: VOLUME.uuid,
        volumeCreated: true,
        snapshot: S1,
        device: 1,
        replaced: null,
        forced: false,
      })
      const state = stateOf(m)
      expect(mydata(state)).to.deep.include({name: 'mydata', size: GiB, source: {kind: 'received', instance: 'beta'}, branches: {}})
      expect(mydata(state).remoteBranches).to.deep.equal({beta: {trunk: S1}})
      expect(state.snapshots[S1]).to.deep.equal({
        uuid: S1,
        volume: VOLUME.uuid,
        parent: null,
        device: 1,
        created: '2023-12-31T00:00:00.000Z',
        origin: {kind: 'received', instance: 'beta', branch: 'trunk'},
      })
    })

    it('stages a delta on a snapshot of its base, linking the lineage as far as it is known here', () => {
      // Each delta is on the current head: a fast-forward.
      let state = received()
      const m = receiveWhole(state, sent(S2, {snapshot: {uuid: S2, parent: S1, created: ctx.now}, base: S1, expected: S1}), ctx)
      // The head it supersedes goes in the same commit: nothing else needs S1's device.
      expect(m.plan).to.deep.equal([{op: 'create_snap', id: 2, origin: 1}, {op: 'delete', id: 1}])
      expect(m.result.volumeCreated).to.equal(false)
      state = stateOf(m)
      expect(state.snapshots[S2].parent).to.equal(S1)
      expect(state.snapshots[S1].device).to.equal(null)
      expect(mydata(state).remoteBranches.beta.trunk).to.equal(S2)
      const stranger = 'cccccccc-0000-4000-8000-000000000000'
      const unknownParent = receiveWhole(
        state,
        sent(S3, {snapshot: {uuid: S3, parent: stranger, created: ctx.now}, base: S2, expected: S2}),
        ctx,
      )
      expect(stateOf(unknownParent).snapshots[S3].parent).to.equal(S2)
    })

    it('is a compare-and-swap on the remote branch', () => {
      const state = received()
      expectFvmError(
        () => receiveWhole(state, sent(S2), ctx),
        'conflict',
        `remote branch "beta/mydata/trunk" moved: expected none, found ${S1}`,
      )
      expectFvmError(
        () => receiveWhole(state, sent(S2, {expected: S3}), ctx),
        'conflict',
        `remote branch "beta/mydata/trunk" moved: expected ${S3}, found ${S1}`,
      )
      const dev = stateOf(receiveWhole(state, sent(S2, {branch: 'dev'}), ctx))
      expect(dev.volumes[VOLUME.uuid].remoteBranches.beta).to.have.keys(['trunk', 'dev'])
    })

    it('refuses what does not fit here', () => {
      const state = received()
      expectFvmError(() => receiveWhole(state, sent(S1, {expected: S1}), ctx), 'conflict', `snapshot ${S1} is already here`)
      expectFvmError(
        () => receiveWhole(state, sent(S2, {instance: 'alpha'}), ctx),
        'usage',
        'cannot receive from instance "alpha": that is this instance',
      )
      expectFvmError(() => receiveWhole(state, sent(S2, {branch: '..'}), ctx), 'usage', /^invalid branch name/)
      expectFvmError(() => receiveWhole(state, sent('S2'), ctx), 'usage', /needs lowercase uuids and an ISO time/)
      expectFvmError(
        () => receiveWhole(state, sent(S2, {snapshot: {uuid: S2, parent: 'S1', created: ctx.now}, expected: S1, force: true}), ctx),
        'usage',
        /needs lowercase uuids/,
      )
      expectFvmError(
        () => receiveWhole(state, sent(S2, {volume: {...VOLUME, size: 2 * GiB}, base: S1, expected: S1}), ctx),
        'conflict',
        `volume "mydata" (${VOLUME.uuid}) has 1073741824 bytes here, but 2147483648 bytes on "beta"`,
      )
      // An unknown delta base, on a remote branch with no head yet (nothing to fast-forward).
      expectFvmError(
        () => receiveWhole(state, sent(S2, {branch: 'dev', base: S3}), ctx),
        'notFound',
        `delta base ${S3} is not a snapshot of volume "mydata" here`,
      )
      const other = {uuid: 'dddddddd-0000-4000-8000-000000000000', name: 'mydata', size: GiB}
      const namesake = expectFvmError(
        () => receiveWhole(state, sent(S2, {volume: other}), ctx),
        'conflict',
        `volume "mydata" here is ${VOLUME.uuid}, another volume than the one "beta" sends (${other.uuid})`,
      )
      expect(namesake.hint).to.match(/--as NAME/)
      const full = stateOf(createVolume(emptyState({quota: GiB}), {name: 'x', size: GiB}, ctx))
      expectFvmError(() => receiveWhole(full, sent(S1), ctx), 'noSpace', /^quota exceeded by 1073741824 bytes/)
    })
  })

  describe('making things from a remote branch', () => {
    it('branches, tags and copies it from its head device', () => {
      const state = received()
      const branch = createBranch(state, {branch: 'mydata/trunk', from: 'beta/mydata/trunk'}, ctx)
      expect(branch.plan).to.deep.equal([{op: 'create_snap', id: 2, origin: 1}])
      expect(mydata(stateOf(branch)).branches.trunk.base).to.equal(S1)
      const tag = createTag(state, {tag: 'v1@mydata', from: 'beta/mydata/trunk'}, ctx)
      expect(tag.plan).to.deep.equal([{op: 'create_snap', id: 2, origin: 1}])
      expect(stateOf(tag).snapshots[tag.result.snapshot].parent).to.equal(S1)
      const copy = createVolume(state, {name: 'copy', from: 'beta/mydata/trunk'}, ctx)
      expect(copy.plan).to.deep.equal([{op: 'create_snap', id: 2, origin: 1}])
      expect(Object.values(stateOf(copy).volumes).find((v) => v.name === 'copy')?.source).to.deep.equal({
        kind: 'copy',
        ref: 'beta/mydata/trunk',
        volume: VOLUME.uuid,
        descendsFrom: S1,
      })
    })
  })

  describe('removeRemoteBranch', () => {
    it('forgets the remote branch and deletes its head unless a branch stands on it', () => {
      let state = received()
      const m = removeRemoteBranch(state, {remoteBranch: 'beta/mydata/trunk'})
      expect(m.plan).to.deep.equal([{op: 'delete', id: 1}])
      expect(mydata(stateOf(m)).remoteBranches).to.deep.equal({})
      state = stateOf(createBranch(state, {branch: 'mydata/trunk', from: 'beta/mydata/trunk'}, ctx))
      expect(removeRemoteBranch(state, {remoteBranch: 'beta/mydata/trunk'}).plan).to.deep.equal([])
    })

    it('refuses unknown and local branches', () => {
      const state = received()
      expectFvmError(
        () => removeRemoteBranch(state, {remoteBranch: 'gamma/mydata/trunk'}),
        'notFound',
        'remote branch "gamma/mydata/trunk" does not exist',
      )
      expectFvmError(() => removeRemoteBranch(state, {remoteBranch: 'mydata/trunk'}), 'usage', /expected a remote branch/)
      expectFvmError(() => removeRemoteBranch(state, {remoteBranch: 'alpha/mydata/trunk'}), 'usage', /expected a remote branch/)
    })
  })
})
