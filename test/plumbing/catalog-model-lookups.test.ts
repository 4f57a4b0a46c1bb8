// The read-only questions: lists, volume info, history, and device resolution.
import {expect} from 'chai'
import type {CatalogState} from '../../src/plumbing/catalog/model.js'
import {createBranch} from '../../src/plumbing/catalog/ops-branches.js'
import {
  listBranches,
  listRemoteBranches,
  listTags,
  listVolumes,
  log,
  resolveDevice,
  volumeInfo,
} from '../../src/plumbing/catalog/ops-lookups.js'
import {rollback} from '../../src/plumbing/catalog/ops-rollback.js'
import {createTag} from '../../src/plumbing/catalog/ops-tags.js'
import {createVolume} from '../../src/plumbing/catalog/ops-volumes.js'
import {GiB, TestContext, emptyState, expectFvmError, receiveWhole, stateOf} from './catalog-model-fixtures.js'

const HEAD = 'bbbbbbbb-0000-4000-8000-000000000001'

let ctx: TestContext
/** zeta (empty), mydata: v1 and v2 on trunk, dev from trunk between them, trunk rolled back to v1, beta's trunk. */
let state: CatalogState
let uuidOf: (tag: string) => string

describe('catalog model lookups', () => {
  beforeEach(() => {
    ctx = new TestContext()
    state = stateOf(createVolume(emptyState(), {name: 'zeta', size: GiB}, ctx)) // trunk 1
    state = stateOf(createVolume(state, {name: 'mydata', size: 2 * GiB}, ctx.tick())) // trunk 2
    state = stateOf(createTag(state, {tag: 'v1@mydata'}, ctx.tick())) // 3
    state = stateOf(createBranch(state, {branch: 'mydata/dev'}, ctx.tick())) // point 4, dev 5
    state = stateOf(createTag(state, {tag: 'v2@mydata'}, ctx.tick())) // 6
    state = stateOf(rollback(state, {branch: 'mydata/trunk', tag: 'v1'}, ctx.tick())) // trunk 7; 2 displaced
    const mydata = Object.values(state.volumes).find((v) => v.name === 'mydata')
    state = stateOf(
      receiveWhole(
        state,
        {
          instance: 'beta',
          volume: {uuid: mydata?.uuid as string, name: 'mydata', size: 2 * GiB},
          branch: 'trunk',
          snapshot: {uuid: HEAD, parent: null, created: ctx.now},
          base: null,
          expected: null,
        },
        ctx,
      ),
    ) // 8
    uuidOf = (tag) => mydata?.tags[tag].snapshot as string
  })

  it('lists volumes by name with their counts', () => {
    expect(listVolumes(state).map(({name, branches, tags, remoteBranches}) => ({name, branches, tags, remoteBranches}))).to.deep.equal([
      {name: 'mydata', branches: 2, tags: 2, remoteBranches: 1},
      {name: 'zeta', branches: 1, tags: 0, remoteBranches: 0},
    ])
  })

  it('lists branches, tags and remote branches, all or of one volume', () => {
    expect(listBranches(state).map((b) => [b.branch, b.device])).to.deep.equal([
      ['mydata/dev', 5],
      ['mydata/trunk', 7],
      ['zeta/trunk', 1],
    ])
    expect(listBranches(state, 'zeta').map((b) => b.branch)).to.deep.equal(['zeta/trunk'])
    expect(listTags(state)).to.deep.equal([
      {tag: 'v1@mydata', volume: 'mydata', name: 'v1', snapshot: uuidOf('v1'), device: 3, created: '2024-01-01T00:00:02.000Z'},
      {tag: 'v2@mydata', volume: 'mydata', name: 'v2', snapshot: uuidOf('v2'), device: 6, created: '2024-01-01T00:00:04.000Z'},
    ])
    expect(listTags(state, 'zeta')).to.deep.equal([])
    expect(listRemoteBranches(state)).to.deep.equal([
      {remoteBranch: 'beta/mydata/trunk', instance: 'beta', volume: 'mydata', name: 'trunk', snapshot: HEAD, device: 8, created: ctx.now},
    ])
    expectFvmError(() => listBranches(state, 'nope'), 'notFound', 'volume "nope" does not exist')
  })

  it('tells everything about a volume, with what keeps each snapshot', () => {
    const info = volumeInfo(state, 'mydata')
    expect(info).to.deep.include({name: 'mydata', size: 2 * GiB, source: {kind: 'empty'}})
    expect(info.branches.map((b) => b.branch)).to.deep.equal(['mydata/dev', 'mydata/trunk'])
    expect(info.snapshots.map((s) => [s.device, s.origin.kind, s.neededBy])).to.deep.equal([
      [3, 'tag', ['tag "v1@mydata"', 'base of branch "mydata/trunk"']],
      [4, 'branch-point', ['base of branch "mydata/dev"']],
      [6, 'tag', ['tag "v2@mydata"']],
      [2, 'displaced', ['reflog entry 0 of branch "mydata/trunk"']],
      [8, 'received', ['head of remote branch "beta/mydata/trunk"']],
    ])
  })

  it('walks a line back through its parents, newest first, with tags and the reflog', () => {
    const trunk = log(state, 'mydata/trunk')
    expect(trunk.ref).to.equal('mydata/trunk')
    expect(trunk.lineage.map((e) => [e.origin.kind, e.tags])).to.deep.equal([['tag', ['v1@mydata']]])
    expect(trunk.reflog.map((e) => e.action)).to.deep.equal(['rollback', 'create'])
    const v2 = log(state, 'v2', {volume: 'mydata'})
    expect(v2.ref).to.equal('v2@mydata')
    expect(v2.lineage.map((e) => [e.device, e.origin.kind, e.tags])).to.deep.equal([
      [6, 'tag', ['v2@mydata']],
      [4, 'branch-point', []],
      [3, 'tag', ['v1@mydata']],
    ])
    expect(v2.reflog).to.deep.equal([])
    expect(log(state, 'beta/mydata/trunk').lineage.map((e) => e.snapshot)).to.deep.equal([HEAD])
    expect(log(state, 'zeta/trunk').lineage).to.deep.equal([])
    expectFvmError(() => log(state, 'v2'), 'usage', /^invalid reference "v2": expected a branch/)
    expectFvmError(() => log(state, 'mydata/nope'), 'notFound', 'branch "mydata/nope" does not exist')
  })

  it('resolves a reference to its device', () => {
    expect(resolveDevice(state, 'mydata/trunk')).to.deep.equal({
      ref: 'mydata/trunk',
      kind: 'branch',
      volume: listVolumes(state)[0].uuid,
      device: 7,
      snapshot: null,
      writable: true,
    })
    expect(resolveDevice(state, 'alpha/mydata/dev')).to.deep.include({ref: 'mydata/dev', device: 5})
    const v1 = resolveDevice(state, 'v1', {volume: 'mydata'})
    expect(v1).to.deep.include({ref: 'v1@mydata', device: 3, snapshot: uuidOf('v1'), writable: false})
    expect(resolveDevice(state, 'beta/mydata/trunk')).to.deep.include({kind: 'remote-branch', device: 8, snapshot: HEAD, writable: false})
    expectFvmError(() => resolveDevice(state, 'mydata'), 'usage', /^invalid reference "mydata": expected a branch/)
    expectFvmError(() => resolveDevice(state, 'v9@mydata'), 'notFound', 'tag "v9@mydata" does not exist')
  })
})
