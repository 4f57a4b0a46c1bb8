// Receiving a snapshot from another instance, staged: begin (a device no name shows, a
// copy of the delta base or empty), checkpoints of the progress, then finish (published
// as the remote branch's head, with a compare-and-swap and the fast-forward rule) or
// abort; gc and the removals drop what is left staged.
import {expect} from 'chai'
import {type CatalogState, catalogProblems, checkCatalogInvariants, deviceHolders} from '../../src/plumbing/catalog/model.js'
import {createBranch} from '../../src/plumbing/catalog/ops-branches.js'
import {gc, planGc, snapshotUsers} from '../../src/plumbing/catalog/ops-gc.js'
import {removeRemoteBranch} from '../../src/plumbing/catalog/ops-remote.js'
import {
  type ReceiveRequest,
  abortReceive,
  beginReceive,
  checkpointReceive,
  descendsFrom,
  finishReceive,
  remoteHead,
} from '../../src/plumbing/catalog/ops-receive.js'
import {createTag} from '../../src/plumbing/catalog/ops-tags.js'
import {createVolume, removeVolume} from '../../src/plumbing/catalog/ops-volumes.js'
import {GiB, TestContext, deepFreeze, emptyState, expectFvmError, receiveWhole, stateOf} from './catalog-model-fixtures.js'

let ctx: TestContext

const VOLUME = {uuid: 'bbbbbbbb-0000-4000-8000-000000000000', name: 'mydata', size: GiB}
const OTHER = {uuid: 'dddddddd-0000-4000-8000-000000000000', name: 'other', size: GiB}
const S1 = 'bbbbbbbb-0000-4000-8000-000000000001'
const S2 = 'bbbbbbbb-0000-4000-8000-000000000002'
const S3 = 'bbbbbbbb-0000-4000-8000-000000000003'
const S4 = 'bbbbbbbb-0000-4000-8000-000000000004'
const CREATED = '2023-12-31T00:00:00.000Z'
/** A snapshot of beta's that was never sent here. */
const STRANGER = 'cccccccc-0000-4000-8000-000000000000'

/** What beta sends: a full stream of `uuid` (no parent) to a new head, unless `fields` say otherwise. */
function sent(uuid: string, fields: Partial<ReceiveRequest> = {}): ReceiveRequest {
  return {
    instance: 'beta',
    volume: VOLUME,
    branch: 'trunk',
    snapshot: {uuid, parent: null, created: CREATED},
    base: null,
    expected: null,
    force: false,
    ...fields,
  }
}

/** A delta of `uuid` on the head `on`, which is also its parent on the sender: a fast-forward. */
function delta(uuid: string, on: string, fields: Partial<ReceiveRequest> = {}): ReceiveRequest {
  return sent(uuid, {snapshot: {uuid, parent: on, created: CREATED}, base: on, expected: on, ...fields})
}

function mydata(state: CatalogState) {
  const volume = state.volumes[VOLUME.uuid]
  if (!volume) return expect.fail('no volume mydata')
  return volume
}

/** beta's trunk received here: S1 (device 1), then S2 as a delta on it (device 2), which releases S1's device. */
function receivedTwo(): CatalogState {
  const state = stateOf(receiveWhole(emptyState(), sent(S1), ctx))
  return stateOf(receiveWhole(state, delta(S2, S1), ctx))
}

/** receivedTwo, with S1 kept as the base of the local branch mydata/mine (device 2): S2 is on 3. */
function receivedTwoKeepingS1(): CatalogState {
  let state = stateOf(receiveWhole(emptyState(), sent(S1), ctx))
  state = stateOf(createBranch(state, {branch: 'mydata/mine', from: 'beta/mydata/trunk'}, ctx))
  return stateOf(receiveWhole(state, delta(S2, S1), ctx))
}

/** The state without the device id cursor, which every allocation moves. */
function withoutCursor(state: CatalogState): unknown {
  return {...state, deviceIds: {first: state.deviceIds.first, last: state.deviceIds.last}}
}

describe('catalog model receiving', () => {
  beforeEach(() => {
    ctx = new TestContext()
  })

  describe('beginReceive', () => {
    it('stages a full stream in a new thin device that no name shows, publishing nothing yet', () => {
      const m = beginReceive(emptyState(), sent(S1), ctx)
      expect(m.plan).to.deep.equal([{op: 'create_thin', id: 1}])
      expect(m.result).to.deep.equal({remoteBranch: 'beta/mydata/trunk', device: 1, received: 0, resumed: false})
      const state = stateOf(m)
      expect(state.receiving).to.deep.equal({
        [S1]: {
          instance: 'beta',
          branch: 'trunk',
          volume: VOLUME,
          snapshot: {uuid: S1, parent: null, created: CREATED},
          base: null,
          device: 1,
          replaces: null,
          force: false,
          received: 0,
          started: ctx.now,
        },
      })
      expect(state.volumes).to.deep.equal({})
      expect(state.snapshots).to.deep.equal({})
      expect(deviceHolders(state)).to.deep.equal(new Map([[1, `snapshot ${S1} being received`]]))
      expect(remoteHead(state, {instance: 'beta', volume: VOLUME.uuid, branch: 'trunk'})).to.equal(null)
    })

    it('stages a delta in a snapshot of its base; the head stays until the stream is finished', () => {
      const state = stateOf(receiveWhole(emptyState(), sent(S1), ctx))
      const m = beginReceive(state, delta(S2, S1), ctx)
      expect(m.plan).to.deep.equal([{op: 'create_snap', id: 2, origin: 1}])
      expect(m.result).to.deep.equal({remoteBranch: 'beta/mydata/trunk', device: 2, received: 0, resumed: false})
      const staged = stateOf(m)
      expect(staged.receiving[S2]).to.deep.include({base: S1, replaces: S1, device: 2})
      expect(mydata(staged).remoteBranches).to.deep.equal({beta: {trunk: S1}})
      expect(staged.snapshots).to.have.keys([S1])
    })

    it('resumes the same snapshot: same device, progress kept, no new plan', () => {
      let state = stateOf(receiveWhole(emptyState(), sent(S1), ctx))
      state = stateOf(beginReceive(state, delta(S2, S1), ctx))
      state = stateOf(checkpointReceive(state, {snapshot: S2, received: 4096}))
      const m = beginReceive(state, delta(S2, S1), ctx.tick())
      expect(m.plan).to.deep.equal([])
      expect(m.result).to.deep.equal({remoteBranch: 'beta/mydata/trunk', device: 2, received: 4096, resumed: true})
      const resumed = stateOf(m)
      expect(resumed).to.deep.equal(state)
      // A resumed stream takes the sender's latest view of the head and of force.
      const forced = stateOf(beginReceive(state, delta(S2, S1, {force: true}), ctx))
      expect(forced.receiving[S2]).to.deep.include({force: true, received: 4096, device: 2, started: state.receiving[S2].started})
    })

    it('drops another stream staged for the same remote branch, deleting its device', () => {
      let state = stateOf(receiveWhole(emptyState(), sent(S1), ctx)) // head S1 on 1
      state = stateOf(beginReceive(state, delta(S2, S1), ctx)) // staged on 2
      state = stateOf(beginReceive(state, sent(S4, {branch: 'dev'}), ctx)) // another branch: staged on 3
      state = stateOf(beginReceive(state, sent(S4.replace('bbbbbbbb', 'cccccccc'), {instance: 'gamma'}), ctx)) // another instance: 4
      const m = beginReceive(state, delta(S3, S1), ctx)
      expect(m.plan).to.deep.equal([
        {op: 'delete', id: 2},
        {op: 'create_snap', id: 5, origin: 1},
      ])
      const after = stateOf(m)
      expect(Object.keys(after.receiving).sort()).to.deep.equal([S3, S4, S4.replace('bbbbbbbb', 'cccccccc')].sort())
      expect(after.receiving[S3].device).to.equal(5)
    })

    it('restages the same snapshot sent against another base', () => {
      let state = stateOf(receiveWhole(emptyState(), sent(S1), ctx)) // head S1 on 1
      state = stateOf(beginReceive(state, delta(S2, S1), ctx)) // staged on 2
      state = stateOf(checkpointReceive(state, {snapshot: S2, received: 512}))
      // A full stream now, still a fast-forward by its parent: no force needed.
      const m = beginReceive(state, sent(S2, {snapshot: {uuid: S2, parent: S1, created: CREATED}, expected: S1}), ctx)
      expect(m.plan).to.deep.equal([
        {op: 'delete', id: 2},
        {op: 'create_thin', id: 3},
      ])
      expect(m.result).to.deep.equal({remoteBranch: 'beta/mydata/trunk', device: 3, received: 0, resumed: false})
      expect(stateOf(m).receiving[S2]).to.deep.include({base: null, device: 3, received: 0, force: false})
    })

    it('takes the new device id while the dropped stream still holds its own: no id twice in one plan', () => {
      // Ids 1..3: volume x's trunk (1), S1 staged for beta/mydata/trunk (2), tag v@x (3).
      const staged = (range: {first: number; last: number}) => {
        let state = stateOf(createVolume(emptyState({deviceIds: range}), {name: 'x', size: GiB}, ctx))
        state = stateOf(beginReceive(state, sent(S1), ctx))
        state = stateOf(createTag(state, {tag: 'v@x'}, ctx))
        expect([...deviceHolders(state).keys()].sort((a, b) => a - b)).to.deep.equal([1, 2, 3])
        return state
      }
      // Restaging the branch would free 2, but only after the new id is taken: none is free.
      const full = deepFreeze(staged({first: 1, last: 3}))
      expectFvmError(() => beginReceive(full, sent(S2), ctx), 'noSpace', 'no free device id: 1 needed, 0 of 3 (1..3) free')
      expect(full.receiving).to.have.keys([S1])
      // With one id more, the new stream gets it, never the one its plan deletes.
      const m = beginReceive(staged({first: 1, last: 4}), sent(S2), ctx)
      expect(m.plan).to.deep.equal([
        {op: 'delete', id: 2},
        {op: 'create_thin', id: 4},
      ])
      expect(stateOf(m).receiving).to.have.keys([S2])
      expect(stateOf(m).receiving[S2].device).to.equal(4)
    })

    it('is a compare-and-swap on the head the sender saw', () => {
      const state = receivedTwoKeepingS1()
      const e = expectFvmError(
        () => beginReceive(state, delta(S3, S1), ctx),
        'conflict',
        `remote branch "beta/mydata/trunk" moved: expected ${S1}, found ${S2}`,
      )
      expect(e.hint).to.match(/push again/)
      expectFvmError(() => beginReceive(state, sent(S3), ctx), 'conflict', `remote branch "beta/mydata/trunk" moved: expected none, found ${S2}`)
      // Even forced: force allows a non-fast-forward, never a head the sender did not see.
      expectFvmError(() => beginReceive(state, sent(S3, {force: true}), ctx), 'conflict', /moved: expected none/)
      expectFvmError(
        () => beginReceive(emptyState(), sent(S1, {expected: S2}), ctx),
        'conflict',
        `remote branch "beta/mydata/trunk" moved: expected ${S2}, found none`,
      )
    })

    it('refuses a non-fast-forward unless forced: the head must be in the line of the parent here', () => {
      // S1 <- S2, the head; S4 of another volume, also from beta.
      const state = stateOf(receiveWhole(receivedTwoKeepingS1(), sent(S4, {volume: OTHER}), ctx))
      const withParent = (request: ReceiveRequest, parent: string | null): ReceiveRequest => ({
        ...request,
        snapshot: {...request.snapshot, parent},
      })
      const refused = [
        delta(S3, S1, {expected: S2}), // a delta on an ancestor of the head, its parent: the head is not in the line
        sent(S3, {expected: S2}), // a full stream with no parent
        withParent(sent(S3, {expected: S2}), STRANGER), // a full stream whose parent is not here
        // The sender's parent, known here, decides, not the base: the head S2 is not in S1's line.
        withParent(delta(S3, S2), S1),
        // A parent not here: the base stands in, and the head is not in its line either.
        withParent(delta(S3, S1, {expected: S2}), STRANGER),
        // A parent in another volume is not one here: the same.
        withParent(delta(S3, S1, {expected: S2}), S4),
      ]
      for (const request of refused) {
        const e = expectFvmError(
          () => beginReceive(state, request, ctx),
          'conflict',
          `"beta/mydata/trunk" is not a fast-forward: its head ${S2} is not in the line of what is sent`,
        )
        expect(e.hint).to.match(/--force/)
        expect(stateOf(beginReceive(state, {...request, force: true}, ctx)).receiving).to.have.keys([S3])
      }
      const fastForwards = [
        delta(S3, S2), // a delta on the head, its parent
        withParent(sent(S3, {expected: S2}), S2), // a full stream whose parent is the head
        withParent(delta(S3, S1, {expected: S2}), S2), // a delta on an ancestor, its parent the head
        withParent(delta(S3, S2), STRANGER), // a parent not here: the base, the head, stands in
        withParent(delta(S3, S2), S4), // a parent in another volume: the same
      ]
      for (const request of fastForwards) {
        expect(stateOf(beginReceive(state, request, ctx)).receiving[S3]).to.deep.include({replaces: S2, force: false})
      }
      // A delta on a descendant of the head is a fast-forward too.
      let dev = stateOf(receiveWhole(state, delta(S3, S2, {branch: 'dev', expected: null}), ctx))
      dev = stateOf(beginReceive(dev, delta(S4.replace('bbbbbbbb', 'eeeeeeee'), S3, {expected: S2}), ctx))
      expect(dev.receiving[S4.replace('bbbbbbbb', 'eeeeeeee')]).to.deep.include({base: S3, replaces: S2})
    })

    it('refuses what cannot be staged, changing nothing', () => {
      const state = deepFreeze(receivedTwo())
      expectFvmError(() => beginReceive(state, delta(S1, S2), ctx), 'conflict', `snapshot ${S1} is already here`)
      expectFvmError(() => beginReceive(state, delta(S3, S2, {volume: {...VOLUME, size: 2 * GiB}}), ctx), 'conflict', /has 1073741824 bytes here/)
      expectFvmError(
        () => beginReceive(state, sent(S3, {snapshot: {uuid: S3, parent: null, created: 'yesterday'}}), ctx),
        'usage',
        /needs lowercase uuids and an ISO time/,
      )
      expectFvmError(() => beginReceive(state, delta(S3, S2, {volume: {...VOLUME, uuid: 'B'}}), ctx), 'usage', /invalid volume uuid "B"/)
      expectFvmError(() => beginReceive(state, delta(S3, S2, {instance: 'alpha'}), ctx), 'usage', /that is this instance/)
      expectFvmError(() => beginReceive(state, sent(S3, {branch: 'dev', base: S4}), ctx), 'notFound', /^delta base \S+ is not a snapshot/)
      const e = expectFvmError(
        () => beginReceive(emptyState(), sent(S2, {base: S1}), ctx),
        'notFound',
        `delta base ${S1} is not a snapshot of volume "(new)" here`,
      )
      expect(e.hint).to.equal('send the whole volume instead')
      // An unknown base is refused as such before the head is looked at, even a head that moved.
      for (const expected of [S2, S1, null]) {
        const unknown = expectFvmError(
          () => beginReceive(state, sent(S3, {snapshot: {uuid: S3, parent: S2, created: CREATED}, base: S4, expected}), ctx),
          'notFound',
          `delta base ${S4} is not a snapshot of volume "mydata" here`,
        )
        expect(unknown.hint).to.equal('send the whole volume instead')
      }
      expectFvmError(() => beginReceive(emptyState({quota: GiB - 512}), sent(S1), ctx), 'noSpace', /^quota exceeded by 512 bytes/)
      // A volume is whole sectors.
      for (const size of [GiB + 256, 1, 511]) {
        expectFvmError(
          () => beginReceive(emptyState(), sent(S1, {volume: {...VOLUME, size}}), ctx),
          'usage',
          `invalid size ${size} of volume "mydata": not a whole number of 512-byte sectors`,
        )
      }
      expect(stateOf(beginReceive(emptyState(), sent(S1, {volume: {...VOLUME, size: 512}}), ctx)).receiving[S1].volume.size).to.equal(512)
    })
  })

  describe('checkpointReceive', () => {
    it('records progress that only grows, up to the volume size', () => {
      let state = stateOf(beginReceive(emptyState(), sent(S1), ctx))
      for (const received of [0, 512, 512, GiB / 2, GiB]) {
        const m = checkpointReceive(state, {snapshot: S1, received})
        expect(m.plan).to.deep.equal([])
        expect(m.result).to.deep.equal({received})
        state = stateOf(m)
        expect(state.receiving[S1].received).to.equal(received)
      }
      expectFvmError(
        () => checkpointReceive(state, {snapshot: S1, received: GiB + 1}),
        'usage',
        `invalid progress ${GiB + 1} for snapshot ${S1} (at ${GiB})`,
      )
      const half = stateOf(checkpointReceive(stateOf(beginReceive(emptyState(), sent(S1), ctx)), {snapshot: S1, received: GiB / 2}))
      for (const received of [GiB / 2 - 1, 0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
        expectFvmError(() => checkpointReceive(half, {snapshot: S1, received}), 'usage', /^invalid progress/)
      }
      expectFvmError(() => checkpointReceive(half, {snapshot: S2, received: 0}), 'notFound', `no stream of snapshot ${S2} is being received`)
    })
  })

  describe('finishReceive', () => {
    it('creates the volume on the first receive, keeping its uuid, and records the head and its reflog', () => {
      let state = stateOf(beginReceive(emptyState(), sent(S1), ctx))
      state = stateOf(checkpointReceive(state, {snapshot: S1, received: GiB}))
      const m = finishReceive(state, {snapshot: S1}, ctx.tick())
      expect(m.plan).to.deep.equal([])
      expect(m.result).to.deep.equal({
        remoteBranch: 'beta/mydata/trunk',
        volume: VOLUME.uuid,
        volumeCreated: true,
        snapshot: S1,
        device: 1,
        replaced: null,
        forced: false,
      })
      state = stateOf(m)
      expect(state.receiving).to.deep.equal({})
      expect(mydata(state)).to.deep.equal({
        uuid: VOLUME.uuid,
        name: 'mydata',
        size: GiB,
        created: ctx.now,
        source: {kind: 'received', instance: 'beta'},
        branches: {},
        tags: {},
        remoteBranches: {beta: {trunk: S1}},
        remoteReflogs: {beta: {trunk: [{action: 'received', time: ctx.now, to: S1, displaced: null}]}},
      })
      expect(state.snapshots[S1]).to.deep.equal({
        uuid: S1,
        volume: VOLUME.uuid,
        parent: null,
        device: 1,
        created: CREATED,
        origin: {kind: 'received', instance: 'beta', branch: 'trunk'},
      })
      expect(remoteHead(state, {instance: 'beta', volume: VOLUME.uuid, branch: 'trunk'})).to.equal(S1)
      expectFvmError(() => finishReceive(state, {snapshot: S1}, ctx), 'notFound', `no stream of snapshot ${S1} is being received`)
    })

    it('creates the volume once when two branches of a new volume are staged', () => {
      let state = stateOf(beginReceive(emptyState(), sent(S1), ctx))
      state = stateOf(beginReceive(state, sent(S2, {branch: 'dev'}), ctx))
      const first = finishReceive(state, {snapshot: S2}, ctx)
      expect(first.result).to.deep.include({volumeCreated: true, remoteBranch: 'beta/mydata/dev', device: 2})
      const second = finishReceive(stateOf(first), {snapshot: S1}, ctx)
      expect(second.result).to.deep.include({volumeCreated: false, remoteBranch: 'beta/mydata/trunk', device: 1})
      expect(mydata(stateOf(second)).remoteBranches).to.deep.equal({beta: {dev: S2, trunk: S1}})
    })

    it('links the sender\'s parent when it is known here, else the delta base', () => {
      let state = receivedTwo()
      expect(state.snapshots[S2].parent).to.equal(S1)
      const stranger = STRANGER
      state = stateOf(receiveWhole(state, delta(S3, S2, {snapshot: {uuid: S3, parent: stranger, created: CREATED}}), ctx))
      expect(state.snapshots[S3].parent).to.equal(S2)
      expect(descendsFrom(state, S3, S1)).to.equal(true)
      expect(descendsFrom(state, S3, S3)).to.equal(true)
      expect(descendsFrom(state, S1, S3)).to.equal(false)
      expect(descendsFrom(state, null, S1)).to.equal(false)
      expect(descendsFrom(state, stranger, stranger)).to.equal(true)
      // The sender's parent wins over the base when both are here (forced: S1 is not in S3's line).
      const S5 = 'bbbbbbbb-0000-4000-8000-000000000005'
      const byParent = receiveWhole(state, delta(S5, S3, {snapshot: {uuid: S5, parent: S1, created: CREATED}, force: true}), ctx)
      expect(byParent.plan).to.deep.equal([{op: 'create_snap', id: 4, origin: 3}])
      expect(stateOf(byParent).snapshots[S5].parent).to.equal(S1)
      // A parent of another volume is not one here: the base.
      const other = stateOf(receiveWhole(state, sent(S4, {volume: OTHER}), ctx))
      const foreign = receiveWhole(other, delta(S5, S3, {snapshot: {uuid: S5, parent: S4, created: CREATED}}), ctx)
      expect(stateOf(foreign).snapshots[S5].parent).to.equal(S3)
      // A full stream whose parent is not here hangs nowhere.
      const loose = receiveWhole(state, sent(S4, {branch: 'dev', snapshot: {uuid: S4, parent: stranger, created: CREATED}}), ctx)
      expect(stateOf(loose).snapshots[S4].parent).to.equal(null)
    })

    it('links the base that lost its device since the beginning, and nothing when its record is gone too', () => {
      // beta's trunk S1 (device 1); its dev staged as a delta on S1, its parent on beta never sent here.
      let state = stateOf(receiveWhole(emptyState(), sent(S1), ctx))
      state = stateOf(beginReceive(state, sent(S2, {branch: 'dev', snapshot: {uuid: S2, parent: STRANGER, created: CREATED}, base: S1}), ctx))
      expect(state.receiving[S2]).to.deep.include({base: S1, device: 2})
      // trunk goes: S1 loses its device (the staged copy stands alone), its record stays until gc.
      const removed = removeRemoteBranch(state, {remoteBranch: 'beta/mydata/trunk'})
      expect(removed.plan).to.deep.equal([{op: 'delete', id: 1}])
      state = stateOf(removed)
      expect(state.snapshots[S1].device).to.equal(null)
      const linked = finishReceive(state, {snapshot: S2}, ctx)
      expect(linked.result).to.deep.include({remoteBranch: 'beta/mydata/dev', device: 2, replaced: null, forced: false})
      expect(stateOf(linked).snapshots[S2]).to.deep.include({parent: S1, device: 2})
      // The base's record gone too (no operation here does that while a stream is staged): no parent.
      const forgotten = structuredClone(state)
      delete forgotten.snapshots[S1]
      expect(catalogProblems(forgotten)).to.deep.equal([])
      const orphan = finishReceive(forgotten, {snapshot: S2}, ctx)
      expect(orphan.result).to.deep.include({replaced: null, forced: false})
      expect(stateOf(orphan).snapshots[S2]).to.deep.include({parent: null, device: 2})
    })

    it('checks the fast-forward again with the parent link as it is at the end', () => {
      // S1 <- S2, the head; S4 staged on S2, its parent S3 not here yet: a fast-forward by its base.
      let state = receivedTwo()
      state = stateOf(beginReceive(state, delta(S4, S2, {snapshot: {uuid: S4, parent: S3, created: CREATED}}), ctx))
      // S3 arrives on another branch, a line of its own: now S4 hangs on it, and the head is not in that line.
      state = stateOf(receiveWhole(state, sent(S3, {branch: 'dev'}), ctx))
      const frozen = deepFreeze(state)
      expectFvmError(() => finishReceive(frozen, {snapshot: S4}, ctx), 'conflict', /^"beta\/mydata\/trunk" is not a fast-forward/)
      expect(frozen.receiving).to.have.keys([S4])
      // Resumed with force, it goes in, recorded as forced: never a forced entry without force.
      state = stateOf(beginReceive(state, delta(S4, S2, {snapshot: {uuid: S4, parent: S3, created: CREATED}, force: true}), ctx))
      const m = finishReceive(state, {snapshot: S4}, ctx)
      expect(m.result).to.deep.include({replaced: S2, forced: true})
      expect(stateOf(m).snapshots[S4].parent).to.equal(S3)
      expect(mydata(stateOf(m)).remoteReflogs.beta.trunk[0]).to.deep.include({action: 'forced', to: S4, displaced: S2})
    })

    it('names a new volume as the request says here, and later matches it by uuid whatever the sender calls it', () => {
      // A local volume "mydata" already exists: beta's mydata is received as "theirs" (--as theirs).
      let state = stateOf(createVolume(emptyState(), {name: 'mydata', size: GiB}, ctx))
      const first = receiveWhole(state, sent(S1, {volume: {...VOLUME, name: 'theirs'}}), ctx)
      expect(first.result).to.deep.include({remoteBranch: 'beta/theirs/trunk', volume: VOLUME.uuid, volumeCreated: true})
      state = stateOf(first)
      expect(state.volumes[VOLUME.uuid]).to.deep.include({uuid: VOLUME.uuid, name: 'theirs'})
      // The next push from beta names it "mydata": the same volume by uuid, no namesake conflict.
      const begun = beginReceive(state, delta(S2, S1), ctx)
      expect(begun.result.remoteBranch).to.equal('beta/theirs/trunk')
      expect(stateOf(begun).receiving[S2].volume).to.deep.equal({...VOLUME, name: 'theirs'})
      const m = finishReceive(stateOf(begun), {snapshot: S2}, ctx)
      expect(m.result).to.deep.include({remoteBranch: 'beta/theirs/trunk', volume: VOLUME.uuid, volumeCreated: false})
      state = stateOf(m)
      expect(Object.values(state.volumes).map((v) => v.name).sort()).to.deep.equal(['mydata', 'theirs'])
      expect(state.volumes[VOLUME.uuid].remoteBranches).to.deep.equal({beta: {trunk: S2}})
    })

    it('refuses a namesake volume, suggesting --as, at the beginning and at the end', () => {
      const local = stateOf(createVolume(emptyState(), {name: 'mydata', size: GiB}, ctx))
      const message = /^volume "mydata" here is \S+, another volume than the one "beta" sends \(bbbbbbbb-0000-4000-8000-000000000000\)$/
      const e = expectFvmError(() => beginReceive(local, sent(S1), ctx), 'conflict', message)
      expect(e.hint).to.match(/--as/)
      // Staged while the name was free; a local volume took it since.
      let state = stateOf(beginReceive(emptyState(), sent(S1), ctx))
      state = stateOf(createVolume(state, {name: 'mydata', size: GiB}, ctx))
      expect(expectFvmError(() => finishReceive(state, {snapshot: S1}, ctx), 'conflict', message).hint).to.match(/--as/)
      expect(state.receiving).to.have.keys([S1])
    })

    it('refuses a volume of another size', () => {
      const state = stateOf(receiveWhole(emptyState(), sent(S1), ctx))
      expectFvmError(
        () => beginReceive(state, delta(S2, S1, {volume: {...VOLUME, size: 2 * GiB}}), ctx),
        'conflict',
        `volume "mydata" (${VOLUME.uuid}) has ${GiB} bytes here, but ${2 * GiB} bytes on "beta"`,
      )
    })

    it('checks the quota again for a new volume', () => {
      let state = stateOf(beginReceive(emptyState({quota: 2 * GiB}), sent(S1), ctx))
      state = stateOf(createVolume(state, {name: 'local', size: 2 * GiB}, ctx))
      expectFvmError(() => finishReceive(state, {snapshot: S1}, ctx), 'noSpace', /^quota exceeded by 1073741824 bytes/)
    })

    it('checks the compare-and-swap again: the head may have gone since the beginning', () => {
      let state = stateOf(receiveWhole(emptyState(), sent(S1), ctx))
      state = stateOf(beginReceive(state, delta(S2, S1), ctx))
      state = stateOf(removeRemoteBranch(state, {remoteBranch: 'beta/mydata/trunk'}))
      expect(state.receiving).to.have.keys([S2])
      expectFvmError(
        () => finishReceive(state, {snapshot: S2}, ctx),
        'conflict',
        `remote branch "beta/mydata/trunk" moved: expected ${S1}, found none`,
      )
    })

    it('with force replaces a head it does not descend from, keeping it in the reflog as displaced', () => {
      let state = receivedTwoKeepingS1() // S1 on 1 (base of mydata/mine on 2) <- S2 on 3, the head
      const m = receiveWhole(state, delta(S3, S1, {expected: S2, force: true}), ctx.tick())
      // The displaced head keeps its device: its reflog entry can restore it.
      expect(m.plan).to.deep.equal([{op: 'create_snap', id: 4, origin: 1}])
      expect(m.result).to.deep.equal({
        remoteBranch: 'beta/mydata/trunk',
        volume: VOLUME.uuid,
        volumeCreated: false,
        snapshot: S3,
        device: 4,
        replaced: S2,
        forced: true,
      })
      state = stateOf(m)
      expect(mydata(state).remoteBranches.beta.trunk).to.equal(S3)
      expect(mydata(state).remoteReflogs.beta.trunk).to.deep.equal([
        {action: 'forced', time: ctx.now, to: S3, displaced: S2},
        {action: 'received', time: '2024-01-01T00:00:00.000Z', to: S2, displaced: null},
        {action: 'received', time: '2024-01-01T00:00:00.000Z', to: S1, displaced: null},
      ])
      expect(snapshotUsers(state).get(S2)).to.deep.equal(['reflog entry 0 of remote branch "beta/mydata/trunk"'])
      expect(snapshotUsers(state).get(S1)).to.deep.equal(['base of branch "mydata/mine"'])
      expect(gc(state).plan).to.deep.equal([])
      // A fast-forward releases the head it supersedes (S3) at once; the displaced S2 stays while its entry is kept.
      const S5 = 'bbbbbbbb-0000-4000-8000-000000000005'
      const forward = receiveWhole(state, delta(S4, S3), ctx)
      expect(forward.plan).to.deep.equal([{op: 'create_snap', id: 5, origin: 4}, {op: 'delete', id: 4}])
      state = stateOf(forward)
      expect(gc(state, {reflogKeep: 2}).plan).to.deep.equal([])
      state = stateOf(receiveWhole(state, delta(S5, S4), ctx))
      // The forced entry falls beyond a retention of 2: the head it displaced goes.
      const expired = gc(state, {reflogKeep: 2})
      expect(expired.plan).to.deep.equal([{op: 'delete', id: 3}])
      expect(expired.result.expired).to.deep.equal([{branch: 'beta/mydata/trunk', entries: 3}])
      expect(planGc(state, {reflogKeep: 2})).to.deep.equal(expired.result)
      state = stateOf(expired)
      expect(mydata(state).remoteReflogs.beta.trunk.map((e) => e.to)).to.deep.equal([S5, S4])
      // S2 is in no kept line any more: its record goes too; S1 stays, an ancestor of the head.
      expect(expired.result.forgotten).to.deep.equal([S2])
      expect(Object.keys(state.snapshots).sort()).to.deep.equal([S1, S3, S4, S5])
      expect(gc(state, {reflogKeep: 2}).plan).to.deep.equal([])
    })

    it('records a forced stream that happens to be a fast-forward as received', () => {
      const state = receivedTwo()
      const onHead = receiveWhole(state, delta(S3, S2, {force: true}), ctx)
      expect(onHead.result).to.deep.include({replaced: S2, forced: false})
      expect(mydata(stateOf(onHead)).remoteReflogs.beta.trunk[0]).to.deep.include({action: 'received', to: S3, displaced: null})
      // A full stream whose parent is the head is a fast-forward, forced or not.
      const unforced = receiveWhole(state, sent(S3, {snapshot: {uuid: S3, parent: S2, created: CREATED}, expected: S2}), ctx)
      expect(unforced.result).to.deep.include({replaced: S2, forced: false})
      const full = receiveWhole(state, sent(S3, {snapshot: {uuid: S3, parent: S2, created: CREATED}, expected: S2, force: true}), ctx)
      // The head it supersedes (S2) is released in the same commit.
      expect(full.plan).to.deep.equal([{op: 'create_thin', id: 3}, {op: 'delete', id: 2}])
      expect(full.result).to.deep.include({replaced: S2, forced: false})
      expect(stateOf(full).snapshots[S3].parent).to.equal(S2)
      expect(mydata(stateOf(full)).remoteReflogs.beta.trunk[0]).to.deep.include({action: 'received', displaced: null})
      expect(snapshotUsers(stateOf(full)).has(S2)).to.equal(false)
    })

    it('finishes after a resume with what the last beginning said', () => {
      let state = receivedTwoKeepingS1()
      state = stateOf(beginReceive(state, delta(S3, S1, {expected: S2, force: true}), ctx))
      state = stateOf(checkpointReceive(state, {snapshot: S3, received: 1024}))
      state = stateOf(beginReceive(state, delta(S3, S1, {expected: S2, force: true}), ctx))
      expect(finishReceive(state, {snapshot: S3}, ctx).result).to.deep.include({forced: true, device: 4})
    })
  })

  describe('abortReceive', () => {
    it('deletes the staged device and leaves no other trace', () => {
      const before = receivedTwo()
      let state = stateOf(beginReceive(before, delta(S3, S2), ctx))
      state = stateOf(checkpointReceive(state, {snapshot: S3, received: 512}))
      const m = abortReceive(state, {snapshot: S3})
      expect(m.plan).to.deep.equal([{op: 'delete', id: 3}])
      expect(m.result).to.deep.equal({snapshot: S3, device: 3})
      expect(withoutCursor(stateOf(m))).to.deep.equal(withoutCursor(before))
      // A new volume staged and aborted leaves no volume behind.
      const fresh = abortReceive(stateOf(beginReceive(emptyState(), sent(S1), ctx)), {snapshot: S1})
      expect(withoutCursor(stateOf(fresh))).to.deep.equal(withoutCursor(emptyState()))
      expectFvmError(() => abortReceive(stateOf(m), {snapshot: S3}), 'notFound', `no stream of snapshot ${S3} is being received`)
    })
  })

  describe('what drops staged streams', () => {
    it('gc abandons every staged stream, deleting its device', () => {
      let state = receivedTwo() // S2 on 2 (S1 released)
      state = stateOf(beginReceive(state, delta(S3, S2), ctx)) // 3
      state = stateOf(checkpointReceive(state, {snapshot: S3, received: 1024}))
      state = stateOf(beginReceive(state, sent(S4, {volume: OTHER}), ctx)) // 4
      const m = gc(state)
      expect(m.result.abandoned).to.deep.equal([
        {snapshot: S3, from: 'beta/mydata/trunk', device: 3, received: 1024},
        {snapshot: S4, from: 'beta/other/trunk', device: 4, received: 0},
      ])
      expect(m.result.collected).to.deep.equal([])
      expect(m.plan).to.deep.equal([
        {op: 'delete', id: 3},
        {op: 'delete', id: 4},
      ])
      expect(planGc(state)).to.deep.equal(m.result)
      const after = stateOf(m)
      expect(after.receiving).to.deep.equal({})
      expect(Object.keys(after.volumes)).to.deep.equal([VOLUME.uuid])
      expect(gc(after).plan).to.deep.equal([])
    })

    it('removeVolume drops the streams staged into that volume only', () => {
      let state = receivedTwo() // S2 on 2 (S1 released)
      state = stateOf(beginReceive(state, delta(S3, S2), ctx)) // 3
      state = stateOf(beginReceive(state, sent(S4, {volume: OTHER}), ctx)) // 4
      const m = removeVolume(state, {name: 'mydata'})
      expect(m.plan).to.deep.equal([
        {op: 'delete', id: 2},
        {op: 'delete', id: 3},
      ])
      expect(m.result.deleted).to.deep.equal([2, 3])
      expect(stateOf(m).receiving).to.have.keys([S4])
    })

    it('removeRemoteBranch drops its reflog and releases the heads it displaced', () => {
      let state = receivedTwoKeepingS1() // S1 on 1 (base of mydata/mine on 2) <- S2 on 3
      state = stateOf(receiveWhole(state, delta(S3, S1, {expected: S2, force: true}), ctx)) // S3 on 4, displaces S2
      state = stateOf(receiveWhole(state, delta(S4, S3), ctx)) // S4 on 5, releases S3
      state = stateOf(receiveWhole(state, sent(S1.replace('bbbbbbbb', 'eeeeeeee'), {branch: 'dev'}), ctx)) // dev on 6
      const m = removeRemoteBranch(state, {remoteBranch: 'beta/mydata/trunk'})
      expect(m.plan).to.deep.equal([
        {op: 'delete', id: 3},
        {op: 'delete', id: 5},
      ])
      expect(m.result.deleted).to.deep.equal([3, 5])
      const after = stateOf(m)
      expect(mydata(after).remoteBranches).to.deep.equal({beta: {dev: S1.replace('bbbbbbbb', 'eeeeeeee')}})
      expect(Object.keys(mydata(after).remoteReflogs.beta)).to.deep.equal(['dev'])
      // Nothing is left for gc: S3 went when S4 came, and mydata/mine keeps S1.
      expect(gc(after).plan).to.deep.equal([])
      // The head keeps its device while a local branch stands on it; the displaced head goes.
      const branched = stateOf(createBranch(state, {branch: 'mydata/trunk', from: 'beta/mydata/trunk'}, ctx))
      expect(mydata(branched).branches.trunk.base).to.equal(S4)
      expect(removeRemoteBranch(branched, {remoteBranch: 'beta/mydata/trunk'}).plan).to.deep.equal([{op: 'delete', id: 3}])
      const last = removeRemoteBranch(stateOf(removeRemoteBranch(state, {remoteBranch: 'beta/mydata/dev'})), {remoteBranch: 'beta/mydata/trunk'})
      expect(mydata(stateOf(last)).remoteReflogs).to.deep.equal({})
      expect(mydata(stateOf(last)).remoteBranches).to.deep.equal({})
    })
  })

  describe('invariants', () => {
    /** Local "mydata" (trunk on 1), beta's "other" received (S1 on 2), S2 staged as a delta on it (3). */
    function sound(): CatalogState {
      ctx = new TestContext()
      let state = stateOf(createVolume(emptyState(), {name: 'mydata', size: GiB}, ctx))
      state = stateOf(receiveWhole(state, sent(S1, {volume: OTHER}), ctx))
      return stateOf(beginReceive(state, delta(S2, S1, {volume: OTHER}), ctx))
    }
    function broken(edit: (s: CatalogState) => void): string[] {
      const state = structuredClone(sound())
      edit(state)
      return catalogProblems(state)
    }
    const other = (s: CatalogState) => s.volumes[OTHER.uuid]
    const staged = `snapshot ${S2} being received`

    it('hold for a sound state', () => {
      expect(broken(() => {})).to.deep.equal([])
    })

    it('catch a staged device shared with a branch or a snapshot', () => {
      expect(broken((s) => (s.receiving[S2].device = 1))).to.deep.equal([`device 1 is used by 2 holders: branch "mydata/trunk", ${staged}`])
      expect(broken((s) => (s.receiving[S2].device = 2))).to.deep.equal([`device 2 is used by 2 holders: ${staged}, snapshot ${S1}`])
    })

    it('catch a staged snapshot that is already a snapshot here', () => {
      expect(
        broken((s) => {
          s.receiving[S1] = {...s.receiving[S2], snapshot: {...s.receiving[S2].snapshot, uuid: S1}, device: 9}
        }),
      ).to.deep.equal([`snapshot ${S1} being received is already a snapshot here`])
    })

    it('catch a bad staged shape: progress, keys, flags', () => {
      expect(broken((s) => (s.receiving[S2].received = GiB + 1))).to.deep.equal([`${staged} has a bad progress`])
      expect(broken((s) => (s.receiving[S2].received = -1))).to.deep.equal([`${staged} has a bad progress`])
      expect(broken((s) => (s.receiving[S2].received = 0.5))).to.deep.equal([`${staged} has a bad progress`])
      expect(broken((s) => (s.receiving[S3] = s.receiving[S2]))).to.deep.equal([`snapshot ${S3} being received is not keyed by its snapshot's uuid`])
      expect(broken((s) => ((s.receiving[S2] as {force: unknown}).force = 'yes'))).to.deep.equal([`${staged} has no force flag`])
      expect(broken((s) => (s.receiving[S2].base = 'S1'))).to.deep.equal([`${staged} has a bad base`])
      expect(broken((s) => (s.receiving[S2].device = 0))).to.deep.equal([`${staged} has a bad device id`])
      expect(broken((s) => ((s as {receiving: unknown}).receiving = []))).to.deep.equal(['receiving is not an object'])
    })

    it('catch bad remote reflogs', () => {
      const log = (s: CatalogState) => other(s).remoteReflogs.beta.trunk
      const at = 'volume "other" remote instance "beta" branch "trunk" reflog entry 0'
      expect(broken((s) => (log(s)[0].action = 'create'))).to.deep.equal([`${at} has an unknown action`])
      expect(broken((s) => (log(s)[0].action = 'forced'))).to.deep.equal([`${at} displaces nothing but starts nothing, or the reverse`])
      expect(broken((s) => (log(s)[0] = {...log(s)[0], displaced: S1}))).to.deep.equal([`${at} displaces nothing but starts nothing, or the reverse`])
      expect(broken((s) => (log(s)[0] = {...log(s)[0], action: 'forced', displaced: S3}))).to.deep.equal([
        `remote branch "beta/other/trunk" reflog names missing snapshot ${S3}`,
      ])
      expect(broken((s) => (log(s)[0].to = S3))).to.deep.equal([`remote branch "beta/other/trunk" reflog names missing snapshot ${S3}`])
      // A local branch's reflog takes none of the remote actions.
      const trunk = (s: CatalogState) => (Object.values(s.volumes).find((v) => v.name === 'mydata') ?? expect.fail('no mydata')).branches.trunk
      expect(broken((s) => (trunk(s).reflog[0].action = 'received'))).to.deep.equal([
        'volume "mydata" branch "trunk" reflog entry 0 has an unknown action',
      ])
      expect(() => checkCatalogInvariants({...sound(), receiving: {[S3]: sound().receiving[S2]}})).to.throw(/not keyed by its snapshot's uuid/)
    })
  })
})

