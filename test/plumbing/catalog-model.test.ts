// The catalog model's mutations, one by one: their plans, their new state, their errors.
import {expect} from 'chai'
import {
  type CatalogState,
  MAX_DEVICE_ID,
  catalogProblems,
  checkCatalogInvariants,
  deviceHolders,
  entry,
  newCatalogState,
  setEntry,
} from '../../src/plumbing/catalog/model.js'
import {createBranch, removeBranch, renameBranch} from '../../src/plumbing/catalog/ops-branches.js'
import {rollback, rollbackUndo} from '../../src/plumbing/catalog/ops-rollback.js'
import {createTag, removeTag} from '../../src/plumbing/catalog/ops-tags.js'
import {createVolume, removeVolume, setQuota} from '../../src/plumbing/catalog/ops-volumes.js'
import {GiB, INSTANCE, TestContext, deepFreeze, emptyState, expectFvmError, stateOf} from './catalog-model-fixtures.js'

let ctx: TestContext

/** A state with volume `mydata` (1 GiB, trunk on device 1). */
function withVolume(state = emptyState(), name = 'mydata'): CatalogState {
  return stateOf(createVolume(state, {name, size: GiB}, ctx))
}

function volume(state: CatalogState, name = 'mydata') {
  const v = Object.values(state.volumes).find((x) => x.name === name)
  if (!v) return expect.fail(`no volume ${name}`)
  return v
}

function branch(state: CatalogState, ref: string) {
  const [v, b] = ref.split('/')
  const found = entry(volume(state, v).branches, b)
  if (!found) return expect.fail(`no branch ${ref}`)
  return found
}

function tagSnapshot(state: CatalogState, ref: string) {
  const [t, v] = ref.split('@')
  const tag = entry(volume(state, v).tags, t)
  if (!tag) return expect.fail(`no tag ${ref}`)
  return state.snapshots[tag.snapshot]
}

describe('catalog model', () => {
  beforeEach(() => {
    ctx = new TestContext()
  })

  describe('newCatalogState', () => {
    it('starts empty, with the whole device id range', () => {
      const state = emptyState()
      expect(state).to.deep.equal({
        format: 1,
        instance: INSTANCE,
        deviceIds: {first: 1, last: MAX_DEVICE_ID, next: 1},
        quota: null,
        volumes: {},
        snapshots: {},
        receiving: {},
      })
    })

    it('refuses a bad instance or id range', () => {
      expectFvmError(() => newCatalogState({instance: {...INSTANCE, name: '.x'}}), 'corrupt', /instance has invalid name/)
      expectFvmError(() => newCatalogState({instance: INSTANCE, deviceIds: {first: 0, last: 9}}), 'corrupt', /deviceIds/)
      expectFvmError(() => newCatalogState({instance: INSTANCE, deviceIds: {first: 9, last: 2 ** 24}}), 'corrupt', /deviceIds/)
    })
  })

  describe('createVolume', () => {
    it('makes an empty volume: trunk on a new thin device', () => {
      const m = createVolume(emptyState(), {name: 'mydata', size: GiB}, ctx)
      expect(m.plan).to.deep.equal([{op: 'create_thin', id: 1}])
      expect(m.result).to.deep.equal({volume: m.result.volume, name: 'mydata', size: GiB, branch: 'mydata/trunk', device: 1})
      const state = stateOf(m)
      expect(volume(state).source).to.deep.equal({kind: 'empty'})
      expect(branch(state, 'mydata/trunk')).to.deep.equal({
        name: 'trunk',
        device: 1,
        base: null,
        created: ctx.now,
        reflog: [{action: 'create', time: ctx.now, to: null, displaced: null}],
        pushed: {},
      })
      expect(state.deviceIds.next).to.equal(2)
    })

    it('hands out a new device id to each volume', () => {
      const state = withVolume(withVolume(emptyState(), 'a'), 'b')
      expect(volume(state, 'a').branches.trunk.device).to.equal(1)
      expect(volume(state, 'b').branches.trunk.device).to.equal(2)
    })

    it('records an image as the source of a new thin device', () => {
      const m = createVolume(emptyState(), {name: 'os', size: GiB, image: 'debian-12.qcow2'}, ctx)
      expect(m.plan).to.deep.equal([{op: 'create_thin', id: 1}])
      expect(volume(stateOf(m), 'os').source).to.deep.equal({kind: 'image', image: 'debian-12.qcow2'})
    })

    it('copies a tag: a snapshot of its device, linked to the tag', () => {
      let state = withVolume()
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      const tag = tagSnapshot(state, 'v1@mydata')
      const m = createVolume(state, {name: 'copy', from: 'v1@mydata'}, ctx)
      expect(m.plan).to.deep.equal([{op: 'create_snap', id: 3, origin: tag.device}])
      const copy = volume(stateOf(m), 'copy')
      expect(copy.size).to.equal(GiB)
      expect(copy.source).to.deep.equal({kind: 'copy', ref: 'v1@mydata', volume: volume(state).uuid, descendsFrom: tag.uuid})
      expect(copy.branches.trunk.base).to.equal(null)
    })

    it('copies a branch from its device; the link is its base', () => {
      let state = withVolume()
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      const m = createVolume(state, {name: 'copy', from: 'mydata/trunk', size: 2 * GiB}, ctx)
      expect(m.plan).to.deep.equal([{op: 'create_snap', id: 3, origin: 1}])
      const copy = volume(stateOf(m), 'copy')
      expect(copy.size).to.equal(2 * GiB)
      expect(copy.source).to.include({kind: 'copy', ref: 'mydata/trunk', descendsFrom: tagSnapshot(state, 'v1@mydata').uuid})
    })

    it('refuses bad names, taken names and bad sizes', () => {
      const state = withVolume()
      expectFvmError(
        () => createVolume(state, {name: 'my/data', size: GiB}, ctx),
        'usage',
        'invalid volume name "my/data": must not contain "/"',
      )
      expectFvmError(() => createVolume(state, {name: 'mydata', size: GiB}, ctx), 'conflict', 'volume "mydata" already exists')
      expectFvmError(() => createVolume(state, {name: 'x'}, ctx), 'usage', 'volume "x" needs a size')
      for (const size of [0, -512, 1.5, Number.NaN, 2 ** 53]) {
        expectFvmError(
          () => createVolume(state, {name: 'x', size}, ctx),
          'usage',
          /^invalid size .*: must be a positive whole number of bytes$/,
        )
      }
      expectFvmError(() => createVolume(state, {name: 'x', size: GiB, from: 'mydata/trunk', image: 'i'}, ctx), 'usage', /not both/)
      expectFvmError(() => createVolume(state, {name: 'x', size: GiB, image: 'a\u0007b'}, ctx), 'usage', /^invalid image "a\\x07b"/)
      expectFvmError(() => createVolume(state, {name: 'x', size: GiB, image: ''}, ctx), 'usage', /^invalid image ""/)
    })

    it('refuses a source that does not exist, or a copy smaller than it', () => {
      const state = withVolume()
      expectFvmError(() => createVolume(state, {name: 'x', from: 'v9@mydata'}, ctx), 'notFound', 'tag "v9@mydata" does not exist')
      expectFvmError(() => createVolume(state, {name: 'x', from: 'nope/trunk'}, ctx), 'notFound', 'volume "nope" does not exist')
      expectFvmError(() => createVolume(state, {name: 'x', from: 'mydata'}, ctx), 'usage', /^invalid reference "mydata": expected a branch/)
      expectFvmError(
        () => createVolume(state, {name: 'x', from: 'mydata/trunk', size: GiB - 512}, ctx),
        'usage',
        /is smaller than "mydata\/trunk"/,
      )
    })

    it('keeps the total size within the quota, saying by how much it would exceed it', () => {
      const state = withVolume(emptyState({quota: 3 * GiB}))
      expect(stateOf(createVolume(state, {name: 'fits', size: 2 * GiB}, ctx)).volumes).to.have.keys(
        Object.keys(state.volumes).concat('00000000-0000-4000-8000-000000000002'),
      )
      expectFvmError(
        () => createVolume(state, {name: 'big', size: 2 * GiB + 512}, ctx),
        'noSpace',
        `quota exceeded by 512 bytes: volume "big" needs ${2 * GiB + 512}, volumes already use ${GiB} of ${3 * GiB}`,
      )
    })
  })

  describe('removeVolume', () => {
    it('deletes every device of the volume, and only those', () => {
      let state = withVolume(withVolume(emptyState(), 'other'))
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      state = stateOf(createBranch(state, {branch: 'mydata/dev'}, ctx))
      state = stateOf(rollback(state, {branch: 'mydata/trunk', tag: 'v1'}, ctx))
      const other = volume(state, 'other')
      const m = removeVolume(state, {name: 'mydata'})
      // mydata: trunk 2, tag 3, branch point 4, dev 5, rollback: new trunk 6 (2 displaced).
      expect(m.plan).to.deep.equal([2, 3, 4, 5, 6].map((id) => ({op: 'delete', id})))
      expect(m.result).to.deep.equal({volume: volume(state).uuid, name: 'mydata', deleted: [2, 3, 4, 5, 6]})
      const after = stateOf(m)
      expect(Object.values(after.volumes)).to.deep.equal([other])
      expect(after.snapshots).to.deep.equal({})
      expect([...deviceHolders(after).keys()]).to.deep.equal([1])
    })

    it('leaves copies made from it working', () => {
      let state = withVolume()
      state = stateOf(createVolume(state, {name: 'copy', from: 'mydata/trunk'}, ctx))
      state = stateOf(removeVolume(state, {name: 'mydata'}))
      expect(volume(state, 'copy').source).to.include({kind: 'copy', ref: 'mydata/trunk'})
    })

    it('refuses unknown and invalid names', () => {
      expectFvmError(() => removeVolume(emptyState(), {name: 'mydata'}), 'notFound', 'volume "mydata" does not exist')
      expectFvmError(() => removeVolume(emptyState(), {name: '..'}), 'usage', /^invalid volume name/)
    })
  })

  describe('setQuota', () => {
    it('sets and lifts the quota, never below what volumes use', () => {
      const state = withVolume()
      const m = setQuota(state, {quota: 2 * GiB})
      expect(m.plan).to.deep.equal([])
      expect(m.result).to.deep.equal({quota: 2 * GiB, used: GiB})
      expect(stateOf(m).quota).to.equal(2 * GiB)
      expect(stateOf(setQuota(m.state, {quota: null})).quota).to.equal(null)
      expectFvmError(() => setQuota(state, {quota: GiB - 1}), 'conflict', `quota ${GiB - 1} is below the ${GiB} bytes volumes already use`)
      expectFvmError(() => setQuota(state, {quota: 0}), 'usage', /^invalid size 0/)
    })
  })

  describe('createBranch', () => {
    it('from a branch: a branch point and the new branch, both snapshots of its device', () => {
      let state = withVolume()
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      const v1 = tagSnapshot(state, 'v1@mydata')
      const m = createBranch(state, {branch: 'mydata/dev'}, ctx)
      expect(m.plan).to.deep.equal([
        {op: 'create_snap', id: 3, origin: 1},
        {op: 'create_snap', id: 4, origin: 1},
      ])
      const after = stateOf(m)
      const point = after.snapshots[m.result.base]
      expect(m.result).to.deep.equal({branch: 'mydata/dev', device: 4, from: 'mydata/trunk', base: point.uuid, branchPoint: point.uuid})
      expect(point).to.deep.include({parent: v1.uuid, device: 3, origin: {kind: 'branch-point', branch: 'dev', from: 'trunk'}})
      expect(branch(after, 'mydata/trunk').base).to.equal(point.uuid)
      expect(branch(after, 'mydata/dev')).to.deep.equal({
        name: 'dev',
        device: 4,
        base: point.uuid,
        created: ctx.now,
        reflog: [{action: 'create', time: ctx.now, to: point.uuid, displaced: null}],
        pushed: {},
      })
    })

    it('from a tag (TAG alone means one of the volume): one snapshot of the tag device', () => {
      let state = withVolume()
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      const v1 = tagSnapshot(state, 'v1@mydata')
      for (const from of ['v1', 'v1@mydata']) {
        const m = createBranch(state, {branch: 'mydata/old', from}, ctx)
        expect(m.plan).to.deep.equal([{op: 'create_snap', id: 3, origin: v1.device}])
        expect(m.result).to.deep.include({from: 'v1@mydata', base: v1.uuid, branchPoint: null})
        expect(branch(stateOf(m), 'mydata/trunk').base).to.equal(v1.uuid)
      }
    })

    it('accepts HOST/VOLUME/BRANCH naming this instance', () => {
      const m = createBranch(withVolume(), {branch: 'alpha/mydata/dev', from: 'alpha/mydata/trunk'}, ctx)
      expect(m.result.branch).to.equal('mydata/dev')
    })

    it('works with names that are Object.prototype properties', () => {
      let state = withVolume(emptyState(), '__proto__')
      for (const name of ['constructor', '__proto__', 'hasOwnProperty', 'toString']) {
        state = stateOf(createBranch(state, {branch: `__proto__/${name}`}, ctx))
        state = stateOf(createTag(state, {tag: `${name}@__proto__`, from: `__proto__/${name}`}, ctx))
      }
      const v = volume(state, '__proto__')
      expect(Object.keys(v.branches).sort()).to.deep.equal(['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'trunk'])
      expect(Object.getPrototypeOf(v.branches)).to.equal(Object.prototype)
      const json = JSON.parse(JSON.stringify(state)) as unknown
      expect(json).to.deep.equal(state)
      checkCatalogInvariants(json)
      expectFvmError(
        () => createBranch(state, {branch: '__proto__/constructor'}, ctx),
        'conflict',
        'branch "__proto__/constructor" already exists',
      )
      state = stateOf(renameBranch(state, {branch: '__proto__/__proto__', to: 'valueOf'}))
      state = stateOf(renameBranch(state, {branch: '__proto__/constructor', to: '__proto__'}))
      state = stateOf(removeBranch(state, {branch: '__proto__/__proto__'}))
      state = stateOf(removeTag(state, {tag: '__proto__@__proto__'}))
      expect(Object.keys(volume(state, '__proto__').branches).sort()).to.deep.equal(['hasOwnProperty', 'toString', 'trunk', 'valueOf'])
      expect(Object.keys(volume(state, '__proto__').tags).sort()).to.deep.equal(['constructor', 'hasOwnProperty', 'toString'])
      expectFvmError(
        () => createBranch(withVolume(), {branch: 'mydata/x', from: 'valueOf'}, ctx),
        'notFound',
        'tag "valueOf@mydata" does not exist',
      )
    })

    it('refuses what it cannot do, precisely', () => {
      let state = withVolume(withVolume(emptyState(), 'other'))
      state = stateOf(createTag(state, {tag: 'v1@other'}, ctx))
      expectFvmError(() => createBranch(state, {branch: 'mydata/trunk'}, ctx), 'conflict', 'branch "mydata/trunk" already exists')
      expectFvmError(() => createBranch(state, {branch: 'nope/dev'}, ctx), 'notFound', 'volume "nope" does not exist')
      expectFvmError(
        () => createBranch(state, {branch: 'mydata/dev', from: 'mydata/nope'}, ctx),
        'notFound',
        'branch "mydata/nope" does not exist',
      )
      expectFvmError(() => createBranch(state, {branch: 'mydata/dev', from: 'v1'}, ctx), 'notFound', 'tag "v1@mydata" does not exist')
      expectFvmError(
        () => createBranch(state, {branch: 'mydata/dev', from: 'beta/mydata/trunk'}, ctx),
        'notFound',
        'remote branch "beta/mydata/trunk" does not exist',
      )
      expectFvmError(
        () => createBranch(state, {branch: 'mydata/dev', from: 'v1@other'}, ctx),
        'usage',
        'cannot make branch "mydata/dev" from "v1@other": it is in another volume',
      )
      expectFvmError(
        () => createBranch(state, {branch: 'mydata/..'}, ctx),
        'usage',
        'invalid branch name ".." in "mydata/..": must not start with "."',
      )
      expectFvmError(() => createBranch(state, {branch: 'mydata'}, ctx), 'usage', /^invalid reference "mydata": expected a branch/)
    })

    it('needs a source when the volume has no trunk', () => {
      let state = withVolume()
      state = stateOf(createBranch(state, {branch: 'mydata/main'}, ctx))
      state = stateOf(removeBranch(state, {branch: 'mydata/trunk'}))
      const message = 'volume "mydata" has no branch "trunk" to make "mydata/dev" from'
      const e = expectFvmError(() => createBranch(state, {branch: 'mydata/dev'}, ctx), 'notFound', message)
      expect(e.hint).to.equal('name the branch or tag to start from')
      expect(createBranch(state, {branch: 'mydata/dev', from: 'mydata/main'}, ctx).result.from).to.equal('mydata/main')
    })
  })

  describe('removeBranch', () => {
    it('deletes its device, and its branch point once nothing else needs it', () => {
      let state = withVolume()
      state = stateOf(createBranch(state, {branch: 'mydata/dev'}, ctx))
      // Trunk's base is still the branch point (device 2): it stays.
      expect(removeBranch(state, {branch: 'mydata/dev'}).plan).to.deep.equal([{op: 'delete', id: 3}])
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      const m = removeBranch(state, {branch: 'mydata/dev'})
      expect(m.plan).to.deep.equal([
        {op: 'delete', id: 3},
        {op: 'delete', id: 2},
      ])
      expect(m.result).to.deep.equal({branch: 'mydata/dev', deleted: [3, 2]})
      const after = stateOf(m)
      // The branch point's record stays: it is v1's parent.
      expect(after.snapshots[tagSnapshot(after, 'v1@mydata').parent as string].device).to.equal(null)
    })

    it('deletes the snapshots its reflog kept', () => {
      let state = withVolume()
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      state = stateOf(createBranch(state, {branch: 'mydata/dev', from: 'v1'}, ctx))
      state = stateOf(rollback(state, {branch: 'mydata/dev', tag: 'v1'}, ctx))
      // dev was device 3; the rollback displaced it and gave dev device 4.
      expect(removeBranch(state, {branch: 'mydata/dev'}).plan).to.deep.equal([
        {op: 'delete', id: 4},
        {op: 'delete', id: 3},
      ])
    })

    it('refuses the last branch of a volume, whatever its name, but not trunk as such', () => {
      let state = withVolume()
      expectFvmError(
        () => removeBranch(state, {branch: 'mydata/trunk'}),
        'conflict',
        'cannot remove branch "mydata/trunk": it is the last branch of volume "mydata"',
      )
      state = stateOf(createBranch(state, {branch: 'mydata/dev'}, ctx))
      state = stateOf(removeBranch(state, {branch: 'mydata/trunk'}))
      expectFvmError(() => removeBranch(state, {branch: 'mydata/dev'}), 'conflict', /last branch/)
    })

    it('refuses unknown branches', () => {
      expectFvmError(() => removeBranch(withVolume(), {branch: 'mydata/dev'}), 'notFound', 'branch "mydata/dev" does not exist')
      expectFvmError(() => removeBranch(withVolume(), {branch: 'beta/mydata/dev'}), 'usage', /expected a branch/)
    })
  })

  describe('renameBranch', () => {
    it('renames within the volume, keeping device, base and reflog', () => {
      const state = withVolume()
      const before = branch(state, 'mydata/trunk')
      const m = renameBranch(state, {branch: 'mydata/trunk', to: 'main'})
      expect(m.plan).to.deep.equal([])
      expect(m.result).to.deep.equal({from: 'mydata/trunk', to: 'mydata/main'})
      const after = stateOf(m)
      expect(branch(after, 'mydata/main')).to.deep.equal({...before, name: 'main'})
      expect(volume(after).branches).to.not.have.property('trunk')
    })

    it('renaming to the same name changes nothing; to a taken or bad name is refused', () => {
      let state = withVolume()
      expect(renameBranch(state, {branch: 'mydata/trunk', to: 'trunk'}).state).to.deep.equal(state)
      state = stateOf(createBranch(state, {branch: 'mydata/dev'}, ctx))
      expectFvmError(() => renameBranch(state, {branch: 'mydata/dev', to: 'trunk'}), 'conflict', 'branch "mydata/trunk" already exists')
      expectFvmError(
        () => renameBranch(state, {branch: 'mydata/dev', to: 'a/b'}),
        'usage',
        'invalid branch name "a/b": must not contain "/"',
      )
      expectFvmError(() => renameBranch(state, {branch: 'mydata/nope', to: 'x'}), 'notFound', 'branch "mydata/nope" does not exist')
    })
  })

  describe('createTag', () => {
    it('snapshots the branch device; the tag is the branch line\'s newest point', () => {
      let state = withVolume()
      const m1 = createTag(state, {tag: 'v1@mydata'}, ctx)
      expect(m1.plan).to.deep.equal([{op: 'create_snap', id: 2, origin: 1}])
      state = stateOf(m1)
      const v1 = tagSnapshot(state, 'v1@mydata')
      expect(m1.result).to.deep.equal({tag: 'v1@mydata', snapshot: v1.uuid, device: 2, from: 'mydata/trunk'})
      expect(v1).to.deep.equal({
        uuid: v1.uuid,
        volume: volume(state).uuid,
        parent: null,
        device: 2,
        created: ctx.now,
        origin: {kind: 'tag', tag: 'v1'},
      })
      expect(branch(state, 'mydata/trunk').base).to.equal(v1.uuid)
      state = stateOf(createTag(state, {tag: 'v2@mydata', from: 'mydata/trunk'}, ctx))
      expect(tagSnapshot(state, 'v2@mydata').parent).to.equal(v1.uuid)
    })

    it('refuses existing tags (immutable), other volumes and bad forms', () => {
      let state = withVolume(withVolume(emptyState(), 'other'))
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      const e = expectFvmError(() => createTag(state, {tag: 'v1@mydata'}, ctx), 'conflict', 'tag "v1@mydata" already exists')
      expect(e.hint).to.match(/immutable/)
      expectFvmError(
        () => createTag(state, {tag: 'v2@mydata', from: 'other/trunk'}, ctx),
        'usage',
        'cannot tag "other/trunk" as "v2@mydata": it is in another volume',
      )
      expectFvmError(() => createTag(state, {tag: 'v2'}, ctx), 'usage', /^invalid reference "v2": expected a tag \(TAG@VOLUME\)$/)
      expectFvmError(() => createTag(state, {tag: 'v2@mydata', from: 'v1@mydata'}, ctx), 'usage', /expected a branch/)
      expectFvmError(() => createTag(state, {tag: 'v2@nope'}, ctx), 'notFound', 'volume "nope" does not exist')
      expectFvmError(
        () => createTag(state, {tag: 'v2@mydata', from: 'mydata/nope'}, ctx),
        'notFound',
        'branch "mydata/nope" does not exist',
      )
    })
  })

  describe('removeTag', () => {
    it('deletes the tag device when nothing else needs it', () => {
      let state = withVolume()
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      state = stateOf(createTag(state, {tag: 'v2@mydata'}, ctx))
      const m = removeTag(state, {tag: 'v1@mydata'})
      expect(m.plan).to.deep.equal([{op: 'delete', id: 2}])
      expect(m.result).to.deep.equal({tag: 'v1@mydata', deleted: [2]})
      expect(volume(stateOf(m)).tags).to.have.keys(['v2'])
    })

    it('keeps the device while a branch stands on it', () => {
      let state = withVolume()
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      const m = removeTag(state, {tag: 'v1@mydata'})
      expect(m.plan).to.deep.equal([])
      expect(m.result.deleted).to.deep.equal([])
      expect(stateOf(m).snapshots[branch(state, 'mydata/trunk').base as string].device).to.equal(2)
    })

    it('refuses unknown tags', () => {
      expectFvmError(() => removeTag(withVolume(), {tag: 'v1@mydata'}), 'notFound', 'tag "v1@mydata" does not exist')
    })
  })

  describe('rollback', () => {
    it('puts the branch on a new snapshot of the tag; its old device is kept, displaced, in the reflog', () => {
      let state = withVolume()
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      const v1 = tagSnapshot(state, 'v1@mydata')
      ctx.tick()
      const m = rollback(state, {branch: 'mydata/trunk', tag: 'v1'}, ctx)
      expect(m.plan).to.deep.equal([{op: 'create_snap', id: 3, origin: 2}])
      const after = stateOf(m)
      const displaced = after.snapshots[m.result.displaced]
      expect(m.result).to.deep.equal({branch: 'mydata/trunk', to: v1.uuid, device: 3, displaced: displaced.uuid})
      expect(displaced).to.deep.include({device: 1, parent: v1.uuid, origin: {kind: 'displaced', branch: 'trunk', by: 'rollback'}})
      const trunk = branch(after, 'mydata/trunk')
      expect(trunk.device).to.equal(3)
      expect(trunk.base).to.equal(v1.uuid)
      expect(trunk.reflog[0]).to.deep.equal({action: 'rollback', time: ctx.now, to: v1.uuid, displaced: displaced.uuid})
      expect(trunk.reflog).to.have.length(2)
    })

    it('refuses unknown tags and tags of other volumes', () => {
      let state = withVolume(withVolume(emptyState(), 'other'))
      state = stateOf(createTag(state, {tag: 'v1@other'}, ctx))
      expectFvmError(() => rollback(state, {branch: 'mydata/trunk', tag: 'v1'}, ctx), 'notFound', 'tag "v1@mydata" does not exist')
      expectFvmError(
        () => rollback(state, {branch: 'mydata/trunk', tag: 'v1@other'}, ctx),
        'usage',
        'cannot roll "mydata/trunk" back to "v1@other": the tag is in another volume',
      )
      expectFvmError(() => rollback(state, {branch: 'mydata/nope', tag: 'v1'}, ctx), 'notFound', 'branch "mydata/nope" does not exist')
      expectFvmError(() => rollback(state, {branch: 'mydata/trunk', tag: 'mydata/trunk'}, ctx), 'usage', /expected a tag/)
    })
  })

  describe('rollbackUndo', () => {
    it('restores what the rollback displaced from a new snapshot; undoing again redoes', () => {
      let state = withVolume()
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      const back = rollback(state, {branch: 'mydata/trunk', tag: 'v1'}, ctx)
      state = stateOf(back)
      const undo = rollbackUndo(state, {branch: 'mydata/trunk'}, ctx)
      // Device 1 (displaced by the rollback) is copied, never handed back as is.
      expect(undo.plan).to.deep.equal([{op: 'create_snap', id: 4, origin: 1}])
      expect(undo.result).to.deep.include({branch: 'mydata/trunk', to: back.result.displaced, device: 4})
      state = stateOf(undo)
      const trunk = branch(state, 'mydata/trunk')
      expect(trunk.base).to.equal(back.result.displaced)
      expect(trunk.reflog.map((e) => e.action)).to.deep.equal(['rollback-undo', 'rollback', 'create'])
      const displaced = state.snapshots[undo.result.displaced]
      expect(displaced).to.deep.include({device: 3, origin: {kind: 'displaced', branch: 'trunk', by: 'rollback-undo'}})
      const redo = rollbackUndo(state, {branch: 'mydata/trunk'}, ctx)
      expect(redo.plan).to.deep.equal([{op: 'create_snap', id: 5, origin: 3}])
    })

    it('refuses a branch with nothing to undo', () => {
      expectFvmError(
        () => rollbackUndo(withVolume(), {branch: 'mydata/trunk'}, ctx),
        'conflict',
        'branch "mydata/trunk" has no rollback to undo',
      )
    })
  })

  describe('device ids', () => {
    it('are taken round-robin, skipping live ones, and freed ids come back only after a full turn', () => {
      let state = withVolume(emptyState({deviceIds: {first: 10, last: 13}})) // trunk 10
      state = stateOf(createTag(state, {tag: 'a@mydata'}, ctx)) // 11
      state = stateOf(createTag(state, {tag: 'b@mydata'}, ctx)) // 12
      state = stateOf(removeTag(state, {tag: 'a@mydata'})) // frees 11
      let m = createTag(state, {tag: 'c@mydata'}, ctx)
      expect(m.plan).to.deep.equal([{op: 'create_snap', id: 13, origin: 10}])
      state = stateOf(m)
      m = createTag(state, {tag: 'd@mydata'}, ctx)
      expect(m.plan).to.deep.equal([{op: 'create_snap', id: 11, origin: 10}])
      expect(stateOf(m).deviceIds.next).to.equal(12)
    })

    it('run out with a noSpace error and no change', () => {
      let state = withVolume(emptyState({deviceIds: {first: 1, last: 3}}))
      state = stateOf(createTag(state, {tag: 'a@mydata'}, ctx))
      state = stateOf(createTag(state, {tag: 'b@mydata'}, ctx))
      expectFvmError(() => createTag(state, {tag: 'c@mydata'}, ctx), 'noSpace', 'no free device id: 1 needed, 0 of 3 (1..3) free')
      state = stateOf(removeTag(state, {tag: 'a@mydata'}))
      // A branch from a branch needs two ids: refused whole, not half done.
      expectFvmError(() => createBranch(state, {branch: 'mydata/dev'}, ctx), 'noSpace', 'no free device id: 2 needed, 1 of 3 (1..3) free')
      expect(createTag(state, {tag: 'c@mydata'}, ctx).plan).to.deep.equal([{op: 'create_snap', id: 2, origin: 1}])
    })

    it('stay within 1..2^24-1', () => {
      const state = withVolume(emptyState({deviceIds: {first: MAX_DEVICE_ID - 2, last: MAX_DEVICE_ID}}))
      const m = createBranch(state, {branch: 'mydata/dev'}, ctx)
      expect(m.plan.map((op) => op.id)).to.deep.equal([MAX_DEVICE_ID - 1, MAX_DEVICE_ID])
      expect(stateOf(m).deviceIds.next).to.equal(MAX_DEVICE_ID - 2)
      expectFvmError(() => createTag(m.state, {tag: 'x@mydata'}, ctx), 'noSpace', /^no free device id: 1 needed, 0 of 3/)
    })
  })

  describe('purity', () => {
    it('never writes its input and gives the same answer for the same context', () => {
      const run = (context: TestContext) => {
        let state = deepFreeze(withVolume(emptyState(), 'mydata'))
        const plans: unknown[] = []
        const steps = [
          (s: CatalogState) => createTag(s, {tag: 'v1@mydata'}, context),
          (s: CatalogState) => createBranch(s, {branch: 'mydata/dev'}, context),
          (s: CatalogState) => rollback(s, {branch: 'mydata/trunk', tag: 'v1'}, context),
          (s: CatalogState) => rollbackUndo(s, {branch: 'mydata/trunk'}, context),
          (s: CatalogState) => renameBranch(s, {branch: 'mydata/dev', to: 'feature'}),
          (s: CatalogState) => removeTag(s, {tag: 'v1@mydata'}),
          (s: CatalogState) => removeBranch(s, {branch: 'mydata/feature'}),
        ]
        for (const step of steps) {
          const m = step(state)
          plans.push(m.plan, m.result)
          state = deepFreeze(m.state)
        }
        return {state, plans}
      }
      ctx = new TestContext()
      const first = run(ctx)
      ctx = new TestContext()
      expect(run(ctx)).to.deep.equal(first)
    })
  })

  describe('invariants', () => {
    /** A sound state: trunk on 1, tag v1 on 2, branch point on 3, dev on 4. */
    function sound(): CatalogState {
      ctx = new TestContext()
      let state = withVolume()
      state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx))
      return stateOf(createBranch(state, {branch: 'mydata/dev'}, ctx))
    }
    function broken(edit: (s: CatalogState) => void): string[] {
      const state = sound()
      edit(state)
      return catalogProblems(state)
    }
    const mydata = (s: CatalogState) => Object.values(s.volumes)[0]
    const v1 = (s: CatalogState) => s.snapshots[mydata(s).tags.v1.snapshot]
    const dev = (s: CatalogState) => mydata(s).branches.dev
    const MISSING = '00000000-0000-4000-8000-0000000000ff'

    it('hold for a sound state', () => {
      expect(broken(() => {})).to.deep.equal([])
    })

    it('catch shared devices, dangling links, cycles and lost devices', () => {
      expect(broken((s) => (dev(s).device = 1))).to.deep.equal(['device 1 is used by 2 holders: branch "mydata/trunk", branch "mydata/dev"'])
      expect(broken((s) => (dev(s).base = MISSING))).to.deep.equal([`branch "mydata/dev" base names missing snapshot ${MISSING}`])
      expect(broken((s) => (v1(s).parent = dev(s).base))).to.deep.equal([`the lineage through snapshot ${v1(sound()).uuid} is a cycle`])
      expect(broken((s) => (v1(s).device = null))).to.deep.equal([`tag "v1@mydata" names snapshot ${v1(sound()).uuid}, which has no device`])
      expect(broken((s) => (s.snapshots[dev(s).base as string].origin = {kind: 'push-base', branch: 'dev'}))).to.deep.equal([])
      expect(broken((s) => (v1(s).origin = {kind: 'push-base', branch: 'trunk'}))).to.deep.equal(['tag "v1@mydata" names a snapshot not made as a tag'])
      expect(broken((s) => (mydata(s).remoteBranches = {alpha: {trunk: v1(s).uuid}}))).to.deep.equal([
        'volume "mydata" has remote branches of this instance "alpha"',
      ])
      expect(broken((s) => (s.quota = 1))).to.deep.equal([`volumes address ${GiB} bytes, over the quota of 1`])
      expect(broken((s) => (dev(s).reflog[0].action = 'rollback'))).to.deep.equal([
        'volume "mydata" branch "dev" reflog entry 0 displaces nothing but starts nothing, or the reverse',
      ])
    })

    it('catch a bad shape before following any link', () => {
      expect(catalogProblems(null)).to.deep.equal(['the catalog is not an object'])
      expect(catalogProblems([])).to.deep.equal(['the catalog is not an object'])
      expect(broken((s) => ((s as {format: number}).format = 2))).to.deep.equal(['format is 2, this fvm reads 1'])
      expect(broken((s) => ((dev(s) as {device: number}).device = 0))).to.deep.equal(['volume "mydata" branch "dev" has a bad device id'])
      expect(broken((s) => (mydata(s).branches['a b'] = {...dev(s), name: 'a b', device: 9}))).to.deep.equal([
        'volume "mydata" branch "a b" has invalid name "a b": may contain only letters, digits, "_", "." and "-"',
      ])
      expect(broken((s) => (mydata(s).branches.x = dev(s)))).to.deep.include('volume "mydata" branch "x" is not keyed by its name')
      expect(broken((s) => ((v1(s) as {created: string}).created = 'yesterday'))).to.deep.equal([`snapshot ${v1(sound()).uuid} has a bad creation time`])
      expect(broken((s) => setEntry(s.snapshots, '__proto__', v1(s)))).to.deep.include('snapshot __proto__ is not keyed by its uuid')
    })

    it('are enforced by checkCatalogInvariants as a corrupt error', () => {
      const state = structuredClone(withVolume())
      state.quota = 1
      const message = `catalog state is inconsistent: volumes address ${GiB} bytes, over the quota of 1`
      const e = expectFvmError(() => checkCatalogInvariants(state), 'corrupt', message)
      expect(e.hint).to.equal('run "fvm check"')
    })
  })
})
