// Random sequences of catalog operations against a simulated dm-thin device table: each
// plan is applied to a map of live device ids to their content (create_thin makes new
// content, create_snap copies its origin's, the test "writes" to branches). After every
// step the catalog keeps its invariants, references exactly the live devices, and
// every operation did to the content what it promises.
import {expect} from 'chai'
import fc from 'fast-check'
import {FvmError} from '../../src/errors.js'
import {type CatalogState, MAX_DEVICE_ID, catalogProblems, deviceHolders, entry} from '../../src/plumbing/catalog/model.js'
import {createBranch, removeBranch, renameBranch} from '../../src/plumbing/catalog/ops-branches.js'
import {gc} from '../../src/plumbing/catalog/ops-gc.js'
import {createPushBase, receiveRemoteBranch, recordPush, removeRemoteBranch} from '../../src/plumbing/catalog/ops-remote.js'
import type {DmOp, Mutation} from '../../src/plumbing/catalog/ops-shared.js'
import {rollback, rollbackUndo} from '../../src/plumbing/catalog/ops-rollback.js'
import {createTag, removeTag} from '../../src/plumbing/catalog/ops-tags.js'
import {createVolume, removeVolume, setQuota} from '../../src/plumbing/catalog/ops-volumes.js'
import {TestContext, deepFreeze, emptyState} from './catalog-model-fixtures.js'

const UNIT = 512
// Few names, mostly the common ones, so operations often meet what earlier ones made;
// the Object.prototype names check that names are never looked up as properties.
const volumeName = fc.oneof({arbitrary: fc.constant('a'), weight: 3}, {arbitrary: fc.constant('__proto__'), weight: 1})
const branchName = fc.oneof({arbitrary: fc.constant('trunk'), weight: 3}, fc.constant('dev'), fc.constant('constructor'))
const tagName = fc.constantFrom('v1', 'toString')
const from = fc.option(
  fc.oneof(
    fc.tuple(volumeName, branchName).map(([v, b]) => `${v}/${b}`),
    fc.tuple(tagName, volumeName).map(([t, v]) => `${t}@${v}`),
    tagName,
    fc.tuple(volumeName, branchName).map(([v, b]) => `beta/${v}/${b}`),
  ),
  {nil: undefined, freq: 2},
)

type Command =
  | {op: 'createVolume'; name: string; units: number | undefined; from: string | undefined}
  | {op: 'removeVolume'; name: string}
  | {op: 'setQuota'; units: number | null}
  | {op: 'createBranch'; volume: string; branch: string; from: string | undefined}
  | {op: 'removeBranch'; volume: string; branch: string}
  | {op: 'renameBranch'; volume: string; branch: string; to: string}
  | {op: 'createTag'; volume: string; tag: string; from: string | undefined}
  | {op: 'removeTag'; volume: string; tag: string}
  | {op: 'rollback'; volume: string; branch: string; tag: string}
  | {op: 'rollbackUndo'; volume: string; branch: string}
  | {op: 'push'; volume: string; branch: string}
  | {op: 'receive'; volume: string; branch: string; delta: boolean}
  | {op: 'removeRemoteBranch'; volume: string; branch: string}
  | {op: 'gc'; keep: number}
  | {op: 'write'; volume: string; branch: string}

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constant('createVolume' as const),
      name: volumeName,
      units: fc.option(fc.integer({min: 1, max: 4}), {nil: undefined}),
      from,
    }),
    weight: 6,
  },
  {arbitrary: fc.record({op: fc.constant('removeVolume' as const), name: volumeName}), weight: 1},
  {arbitrary: fc.record({op: fc.constant('setQuota' as const), units: fc.option(fc.integer({min: 4, max: 40}), {nil: null})}), weight: 1},
  {arbitrary: fc.record({op: fc.constant('createBranch' as const), volume: volumeName, branch: branchName, from}), weight: 10},
  {arbitrary: fc.record({op: fc.constant('removeBranch' as const), volume: volumeName, branch: branchName}), weight: 4},
  {arbitrary: fc.record({op: fc.constant('renameBranch' as const), volume: volumeName, branch: branchName, to: branchName}), weight: 2},
  {arbitrary: fc.record({op: fc.constant('createTag' as const), volume: volumeName, tag: tagName, from}), weight: 10},
  {arbitrary: fc.record({op: fc.constant('removeTag' as const), volume: volumeName, tag: tagName}), weight: 4},
  {arbitrary: fc.record({op: fc.constant('rollback' as const), volume: volumeName, branch: branchName, tag: tagName}), weight: 10},
  {arbitrary: fc.record({op: fc.constant('rollbackUndo' as const), volume: volumeName, branch: branchName}), weight: 6},
  {arbitrary: fc.record({op: fc.constant('push' as const), volume: volumeName, branch: branchName}), weight: 3},
  {arbitrary: fc.record({op: fc.constant('receive' as const), volume: volumeName, branch: branchName, delta: fc.boolean()}), weight: 5},
  {arbitrary: fc.record({op: fc.constant('removeRemoteBranch' as const), volume: volumeName, branch: branchName}), weight: 2},
  {arbitrary: fc.record({op: fc.constant('gc' as const), keep: fc.integer({min: 1, max: 3})}), weight: 4},
  {arbitrary: fc.record({op: fc.constant('write' as const), volume: volumeName, branch: branchName}), weight: 10},
)

/** Every sequence starts with a volume, so the commands after it have something to work on. */
const SEED: Command = {op: 'createVolume', name: 'a', units: 1, from: undefined}

const deviceRange = fc.oneof(
  fc.constant({first: 1, last: MAX_DEVICE_ID}),
  fc.integer({min: 1, max: 1000}).chain((first) => fc.integer({min: 2, max: 25}).map((span) => ({first, last: first + span}))),
)

const COMMANDS: Command['op'][] = [
  'createVolume',
  'removeVolume',
  'setQuota',
  'createBranch',
  'removeBranch',
  'renameBranch',
  'createTag',
  'removeTag',
  'rollback',
  'rollbackUndo',
  'push',
  'receive',
  'removeRemoteBranch',
  'gc',
  'write',
]

/** How often each kind of command went through, so the test can show it is not vacuous. */
const succeeded = new Map<string, number>()

class Simulation {
  state: CatalogState
  /** Live device id -> its content. */
  readonly devices = new Map<number, string>()
  /** Snapshot uuid -> the content it was made with; a snapshot never changes. */
  readonly snapshotContent = new Map<string, string>()
  readonly ctx = new TestContext()
  private contents = 0

  constructor(deviceIds: {first: number; last: number}) {
    this.state = deepFreeze(emptyState({deviceIds}))
  }

  /** Content tokens: every create_thin, write and received stream makes a new one. */
  private newContent(): string {
    return `c${++this.contents}`
  }

  private volume(name: string) {
    return Object.values(this.state.volumes).find((v) => v.name === name)
  }

  private branchDevice(volume: string, branch: string): number | undefined {
    const v = this.volume(volume)
    return v && entry(v.branches, branch)?.device
  }

  /** The content a ref names now, for checking what a copy of it got. */
  private contentOf(ref: string | undefined, volume: string): string | undefined {
    if (ref === undefined) return undefined
    const parts = ref.split(/[/@]/)
    let device: number | undefined
    if (ref.includes('@') || parts.length === 1) {
      const v = this.volume(ref.includes('@') ? parts[1] : volume)
      const tag = v && entry(v.tags, parts[0])
      device = tag && (this.state.snapshots[tag.snapshot].device ?? undefined)
    } else if (parts.length === 2) {
      device = this.branchDevice(parts[0], parts[1])
    } else {
      const v = this.volume(parts[1])
      const head = v && entry(entry(v.remoteBranches, parts[0]) ?? {}, parts[2])
      device = head === undefined ? undefined : (this.state.snapshots[head].device ?? undefined)
    }
    return device === undefined ? undefined : this.devices.get(device)
  }

  private current = ''

  run(c: Command): void {
    this.current = c.op
    const ctx = this.ctx.tick()
    const s = this.state
    switch (c.op) {
      case 'write': {
        const device = this.branchDevice(c.volume, c.branch)
        if (device === undefined) return
        this.devices.set(device, this.newContent())
        succeeded.set(c.op, (succeeded.get(c.op) ?? 0) + 1)
        return
      }
      case 'createVolume': {
        const source = this.contentOf(c.from, c.name)
        const size = c.units === undefined ? undefined : c.units * UNIT
        this.apply(() => createVolume(s, {name: c.name, size, from: c.from}, ctx), (m) => {
          if (c.from !== undefined) expect(this.devices.get(m.result.device)).to.equal(source)
        })
        return
      }
      case 'removeVolume':
        this.apply(() => removeVolume(s, {name: c.name}))
        return
      case 'setQuota':
        this.apply(() => setQuota(s, {quota: c.units === null ? null : c.units * UNIT}))
        return
      case 'createBranch': {
        const source = this.contentOf(c.from ?? `${c.volume}/trunk`, c.volume)
        this.apply(() => createBranch(s, {branch: `${c.volume}/${c.branch}`, from: c.from}, ctx), (m) => {
          expect(this.devices.get(m.result.device)).to.equal(source)
        })
        return
      }
      case 'removeBranch':
        this.apply(() => removeBranch(s, {branch: `${c.volume}/${c.branch}`}))
        return
      case 'renameBranch':
        this.apply(() => renameBranch(s, {branch: `${c.volume}/${c.branch}`, to: c.to}))
        return
      case 'createTag': {
        const source = this.contentOf(c.from ?? `${c.volume}/trunk`, c.volume)
        this.apply(() => createTag(s, {tag: `${c.tag}@${c.volume}`, from: c.from}, ctx), (m) => {
          expect(this.devices.get(m.result.device)).to.equal(source)
          // A tag of a local branch is that branch's newest point.
          const [volume, branch] = m.result.from.split('/')
          const tagged = entry(Object.values(m.state.volumes).find((v) => v.name === volume)?.branches ?? {}, branch)
          if (tagged) expect(tagged.base).to.equal(m.result.snapshot)
        })
        return
      }
      case 'removeTag':
        this.apply(() => removeTag(s, {tag: `${c.tag}@${c.volume}`}))
        return
      case 'rollback': {
        const before = this.contentOf(`${c.volume}/${c.branch}`, c.volume)
        const tag = this.contentOf(c.tag, c.volume)
        this.apply(() => rollback(s, {branch: `${c.volume}/${c.branch}`, tag: c.tag}, ctx), (m) => {
          expect(this.devices.get(m.result.device)).to.equal(tag)
          expect(this.devices.get(m.state.snapshots[m.result.displaced].device as number)).to.equal(before)
        })
        return
      }
      case 'rollbackUndo': {
        const before = this.contentOf(`${c.volume}/${c.branch}`, c.volume)
        this.apply(() => rollbackUndo(s, {branch: `${c.volume}/${c.branch}`}, ctx), (m) => {
          expect(this.devices.get(m.result.device)).to.equal(this.snapshotContent.get(m.result.to))
          expect(this.devices.get(m.state.snapshots[m.result.displaced].device as number)).to.equal(before)
        })
        return
      }
      case 'push': {
        const pushed = this.apply(() => createPushBase(s, {branch: `${c.volume}/${c.branch}`}, ctx))
        if (pushed) this.apply(() => recordPush(this.state, {branch: pushed.branch, instance: 'beta', snapshot: pushed.snapshot}))
        return
      }
      case 'receive':
        this.receive(c)
        return
      case 'removeRemoteBranch':
        this.apply(() => removeRemoteBranch(s, {remoteBranch: `beta/${c.volume}/${c.branch}`}))
        return
      case 'gc':
        this.apply(() => gc(s, {reflogKeep: c.keep}))
        return
    }
  }

  /** beta sends a branch: a full stream, or a delta on its current head when there is one. */
  private receive(c: Extract<Command, {op: 'receive'}>): void {
    const v = this.volume(c.volume)
    const head = (v && entry(entry(v.remoteBranches, 'beta') ?? {}, c.branch)) ?? null
    const uuid = this.ctx.newUuid()
    const volume = v ? {uuid: v.uuid, name: v.name, size: v.size} : {uuid: this.ctx.newUuid(), name: c.volume, size: UNIT}
    const base = c.delta ? head : null
    const snapshot = {uuid, parent: head, created: this.ctx.now}
    const request = {instance: 'beta', volume, branch: c.branch, snapshot, base, expected: head}
    this.apply(() => receiveRemoteBranch(this.state, request, this.ctx), (m) => {
      // The executor writes the stream into the new device.
      this.devices.set(m.result.device, this.newContent())
      this.snapshotContent.set(m.result.snapshot, this.devices.get(m.result.device) as string)
    })
  }

  /** Runs an operation, or accepts its refusal; applies and checks its plan. */
  private apply<R>(mutation: () => Mutation<R>, check?: (m: Mutation<R>) => void): R | undefined {
    let m: Mutation<R>
    try {
      m = mutation()
    } catch (err) {
      if (!(err instanceof FvmError)) throw err
      expect(['usage', 'notFound', 'conflict', 'noSpace']).to.include(err.kind)
      return undefined
    }
    succeeded.set(this.current, (succeeded.get(this.current) ?? 0) + 1)
    this.applyPlan(m.plan, m.state)
    check?.(m)
    this.state = deepFreeze(m.state)
    this.checkState()
    return m.result
  }

  private applyPlan(plan: DmOp[], next: CatalogState): void {
    const ids = plan.map((op) => op.id)
    expect(new Set(ids).size, 'an id appears twice in one plan').to.equal(ids.length)
    for (const op of plan) {
      expect(op.id).to.be.within(1, MAX_DEVICE_ID)
      if (op.op === 'delete') {
        expect(this.devices.has(op.id), `delete of missing device ${op.id}`).to.equal(true)
        this.devices.delete(op.id)
        continue
      }
      expect(this.devices.has(op.id), `create of live device ${op.id}`).to.equal(false)
      expect(op.id).to.be.within(next.deviceIds.first, next.deviceIds.last)
      if (op.op === 'create_thin') {
        this.devices.set(op.id, this.newContent())
      } else {
        expect(this.devices.has(op.origin), `snapshot of missing device ${op.origin}`).to.equal(true)
        this.devices.set(op.id, this.devices.get(op.origin) as string)
      }
    }
  }

  private checkState(): void {
    expect(catalogProblems(this.state)).to.deep.equal([])
    expect([...deviceHolders(this.state).keys()].sort((a, b) => a - b)).to.deep.equal([...this.devices.keys()].sort((a, b) => a - b))
    for (const snapshot of Object.values(this.state.snapshots)) {
      if (snapshot.device === null) continue
      const content = this.devices.get(snapshot.device) as string
      const seen = this.snapshotContent.get(snapshot.uuid)
      if (seen === undefined) this.snapshotContent.set(snapshot.uuid, content)
      else expect(content, `snapshot ${snapshot.uuid} changed`).to.equal(seen)
    }
  }

  /** After the sequence: the state survives JSON, and gc reaches a fixed point. */
  finish(): void {
    this.current = 'final gc'
    expect(JSON.parse(JSON.stringify(this.state))).to.deep.equal(this.state)
    this.apply(() => gc(this.state))
    expect(gc(this.state).plan).to.deep.equal([])
  }
}

describe('catalog model properties', () => {
  it('random operation sequences keep the invariants and stay in step with the device table', () => {
    fc.assert(
      fc.property(deviceRange, fc.array(command, {minLength: 1, maxLength: 60, size: 'max'}), (range, commands) => {
        const sim = new Simulation(range)
        for (const c of [SEED, ...commands]) sim.run(c)
        sim.finish()
      }),
      {numRuns: 1000},
    )
    for (const op of COMMANDS) expect(succeeded.get(op) ?? 0, `${op} went through`).to.be.at.least(10)
  })

  it('the same sequence with the same context gives the same states and plans', () => {
    fc.assert(
      fc.property(fc.array(command, {minLength: 1, maxLength: 30, size: 'max'}), (commands) => {
        const runOnce = (): unknown => {
          const sim = new Simulation({first: 1, last: 50})
          const trace: unknown[] = []
          for (const c of commands) {
            sim.run(c)
            trace.push(sim.state)
          }
          return trace
        }
        expect(runOnce()).to.deep.equal(runOnce())
      }),
      {numRuns: 50},
    )
  })
})
