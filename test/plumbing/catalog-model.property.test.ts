// Random sequences of catalog operations against a simulated dm-thin device table: each
// plan is applied to a map of live device ids to their content (create_thin makes new
// content, create_snap copies its origin's, the test "writes" to branches and to staged
// receives). After every step the catalog keeps its invariants, references exactly the
// live devices, and every operation did to the content what it promises.
import {expect} from 'chai'
import fc from 'fast-check'
import {FvmError} from '../../src/errors.js'
import {type CatalogState, MAX_DEVICE_ID, catalogProblems, deviceHolders, entry} from '../../src/plumbing/catalog/model.js'
import {createBranch, removeBranch, renameBranch} from '../../src/plumbing/catalog/ops-branches.js'
import {gc, snapshotUsers} from '../../src/plumbing/catalog/ops-gc.js'
import {createPushBase, recordPush, removeRemoteBranch} from '../../src/plumbing/catalog/ops-remote.js'
import {
  type FinishReceiveResult,
  type ReceiveRequest,
  abortReceive,
  beginReceive,
  checkpointReceive,
  descendsFrom,
  finishReceive,
} from '../../src/plumbing/catalog/ops-receive.js'
import type {DmOp, Mutation} from '../../src/plumbing/catalog/ops-shared.js'
import {rollback, rollbackUndo} from '../../src/plumbing/catalog/ops-rollback.js'
import {createTag, removeTag} from '../../src/plumbing/catalog/ops-tags.js'
import {createVolume, removeVolume, setQuota} from '../../src/plumbing/catalog/ops-volumes.js'
import {TestContext, deepFreeze, emptyState, receiveWhole} from './catalog-model-fixtures.js'

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

/**
 * What beta's stream is a delta against: nothing (a full stream), the remote branch's
 * head, or another snapshot of the volume that has a device here.
 */
type SentBase = 'full' | 'head' | 'other'
const sentBase = fc.constantFrom<SentBase>('full', 'head', 'head', 'other')
/**
 * The sent snapshot's parent on beta, which decides the fast-forward (see `expectReceive`):
 * its delta base (none for a full stream), the head here, another snapshot of the volume
 * here (often not in the head's line), one never seen here (beta did not push it), one of
 * another volume here (which does not count), or none.
 */
type SentParent = 'base' | 'head' | 'other' | 'unknown' | 'foreign' | 'none'
const sentParent = fc.oneof(
  {arbitrary: fc.constant<SentParent>('base'), weight: 3},
  {arbitrary: fc.constant<SentParent>('head'), weight: 2},
  {arbitrary: fc.constant<SentParent>('other'), weight: 1},
  {arbitrary: fc.constant<SentParent>('unknown'), weight: 2},
  {arbitrary: fc.constant<SentParent>('foreign'), weight: 1},
  {arbitrary: fc.constant<SentParent>('none'), weight: 1},
)
/** Forced pushes now and then. */
const force = fc.oneof({arbitrary: fc.constant(false), weight: 2}, {arbitrary: fc.constant(true), weight: 1})
/** What a receive command sends, to which branch. */
const sending = {volume: volumeName, branch: branchName, base: sentBase, parent: sentParent, force}

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
  | {op: 'receive'; volume: string; branch: string; base: SentBase; parent: SentParent; force: boolean}
  | {op: 'beginReceive'; volume: string; branch: string; base: SentBase; parent: SentParent; force: boolean}
  | {op: 'resumeReceive'; pick: number}
  /** Progress `units` further on (negative: back, refused). */
  | {op: 'checkpointReceive'; pick: number; units: number}
  | {op: 'finishReceive'; pick: number}
  | {op: 'abortReceive'; pick: number}
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
  {arbitrary: fc.record({op: fc.constant('receive' as const), ...sending}), weight: 5},
  {arbitrary: fc.record({op: fc.constant('beginReceive' as const), ...sending}), weight: 4},
  {arbitrary: fc.record({op: fc.constant('resumeReceive' as const), pick: fc.nat(3)}), weight: 2},
  {arbitrary: fc.record({op: fc.constant('checkpointReceive' as const), pick: fc.nat(3), units: fc.integer({min: -1, max: 3})}), weight: 3},
  {arbitrary: fc.record({op: fc.constant('finishReceive' as const), pick: fc.nat(3)}), weight: 3},
  {arbitrary: fc.record({op: fc.constant('abortReceive' as const), pick: fc.nat(3)}), weight: 1},
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
  'beginReceive',
  'resumeReceive',
  'checkpointReceive',
  'finishReceive',
  'abortReceive',
  'removeRemoteBranch',
  'gc',
  'write',
]

/** How often each kind of command went through, so the test can show it is not vacuous. */
const succeeded = new Map<string, number>()

/** What the receive commands should also have met, counted in `succeeded`. */
const RECEIVE_EVENTS = [
  'forced head',
  'forced fast-forward recorded as received',
  'non-fast-forward refused',
  'parent from the sender, not the base',
  'parent fell back to the base',
  'no parent',
  'resumed stream',
  'stream dropped by gc',
  'stream dropped by removeVolume',
  'restaged branch',
  'replaced head released',
]

function count(event: string): void {
  succeeded.set(event, (succeeded.get(event) ?? 0) + 1)
}

/** The model's lineage: `uuid` and its ancestors here, following parent links. */
function lineOf(state: CatalogState, uuid: string | null): Set<string> {
  const line = new Set<string>()
  for (let at = uuid; at !== null && !line.has(at); at = entry(state.snapshots, at)?.parent ?? null) line.add(at)
  return line
}

/** What the model expects of a stream published or staged in `state`. */
interface ReceiveExpectation {
  /** The remote branch's head now. */
  head: string | null
  /** Where the snapshot hangs here: the sender's parent if it is a snapshot of the volume here, else the delta base if it is, else none. */
  parent: string | null
  /** No head, or the head in the line of that parent: only then may it go in unforced, and only otherwise is it recorded as forced. */
  fastForward: boolean
}

function expectReceive(state: CatalogState, request: ReceiveRequest): ReceiveExpectation {
  const volume = entry(state.volumes, request.volume.uuid)
  const head = (volume && entry(entry(volume.remoteBranches, request.instance) ?? {}, request.branch)) ?? null
  const here = (uuid: string | null): uuid is string => uuid !== null && entry(state.snapshots, uuid)?.volume === request.volume.uuid
  const parent = here(request.snapshot.parent) ? request.snapshot.parent : here(request.base) ? request.base : null
  return {head, parent, fastForward: head === null || lineOf(state, parent).has(head)}
}

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
        this.apply(() => removeVolume(s, {name: c.name}), (m) => {
          const dropped = Object.keys(s.receiving).filter((uuid) => !entry(m.state.receiving, uuid))
          for (const uuid of dropped) expect(s.receiving[uuid].volume.uuid).to.equal(m.result.volume)
          if (dropped.length > 0) count('stream dropped by removeVolume')
        })
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
      case 'beginReceive':
        this.receive(c)
        return
      case 'resumeReceive':
      case 'checkpointReceive':
      case 'finishReceive':
      case 'abortReceive':
        this.staged(c)
        return
      case 'removeRemoteBranch':
        this.apply(() => removeRemoteBranch(s, {remoteBranch: `beta/${c.volume}/${c.branch}`}))
        return
      case 'gc':
        this.apply(() => gc(s, {reflogKeep: c.keep}), (m) => {
          // gc drops every staged stream, with its device.
          expect(m.result.abandoned.map((a) => a.snapshot).sort()).to.deep.equal(Object.keys(s.receiving).sort())
          expect(m.state.receiving).to.deep.equal({})
          if (m.result.abandoned.length > 0) count('stream dropped by gc')
        })
        return
    }
  }

  /**
   * beta sends a branch: a full stream, a delta on its current head, or a delta on another
   * snapshot, with a parent on beta that may or may not be known here; in one go, or only
   * begun (then resumed, checkpointed, finished or aborted later, or abandoned by gc or
   * removeVolume). It always expects the head it sees.
   */
  private receive(c: Extract<Command, {op: 'receive' | 'beginReceive'}>): void {
    const v = this.volume(c.volume)
    const head = (v && entry(entry(v.remoteBranches, 'beta') ?? {}, c.branch)) ?? null
    const uuid = this.ctx.newUuid()
    const volume = v ? {uuid: v.uuid, name: v.name, size: v.size} : {uuid: this.ctx.newUuid(), name: c.volume, size: UNIT}
    const snapshots = Object.values(this.state.snapshots)
    const other = v && snapshots.find((s) => s.volume === v.uuid && s.device !== null && s.uuid !== head)
    const base = c.base === 'head' ? head : c.base === 'other' ? (other?.uuid ?? null) : null
    const parents: Record<SentParent, () => string | null> = {
      base: () => base,
      head: () => head,
      // The newest other snapshot of the volume, device or not (often not the `other` base).
      other: () => (v && snapshots.findLast((s) => s.volume === v.uuid && s.uuid !== head)?.uuid) ?? null,
      unknown: () => this.ctx.newUuid(),
      foreign: () => snapshots.find((s) => s.volume !== volume.uuid)?.uuid ?? null,
      none: () => null,
    }
    const snapshot = {uuid, parent: parents[c.parent](), created: this.ctx.now}
    const request: ReceiveRequest = {instance: 'beta', volume, branch: c.branch, snapshot, base, expected: head, force: c.force}
    if (c.op === 'beginReceive') {
      this.begin(request)
      return
    }
    const expected = expectReceive(this.state, request)
    this.apply(
      () => receiveWhole(this.state, request, this.ctx),
      (m) => {
        // The executor writes the stream into the new device.
        this.devices.set(m.result.device, this.newContent())
        this.checkFinished(m, request, expected)
      },
      (err) => this.checkRefused(err, request, expected),
    )
  }

  private begin(request: ReceiveRequest): void {
    const staged = entry(this.state.receiving, request.snapshot.uuid)
    const before = staged && this.devices.get(staged.device)
    const expected = expectReceive(this.state, request)
    this.apply(
      () => beginReceive(this.state, request, this.ctx),
      (m) => {
        // Staged only where it may be published: the head the sender saw, and a fast-forward unless forced.
        expect(expected.head).to.equal(request.expected)
        expect(request.force || expected.fastForward, 'a non-fast-forward staged without force').to.equal(true)
        const {device, resumed, received} = m.result
        expect(resumed).to.equal(staged !== undefined && staged.base === request.base)
        if (resumed) {
          count('resumed stream')
          expect(m.plan).to.deep.equal([])
          expect(this.devices.get(device)).to.equal(before)
          expect(received).to.equal(staged?.received)
        } else {
          expect(received).to.equal(0)
          if (request.base !== null) expect(this.devices.get(device)).to.equal(this.snapshotContent.get(request.base))
        }
        // At most one stream per remote branch is staged.
        const same = Object.values(m.state.receiving).filter(
          (r) => r.instance === request.instance && r.volume.uuid === request.volume.uuid && r.branch === request.branch,
        )
        expect(same.map((r) => r.snapshot.uuid)).to.deep.equal([request.snapshot.uuid])
        if (m.plan.some((op) => op.op === 'delete')) count('restaged branch')
      },
      (err) => this.checkRefused(err, request, expected),
    )
  }

  /** A staged stream, picked by its position among them: resumed, written to and checkpointed, finished or aborted. */
  private staged(c: Extract<Command, {op: 'resumeReceive' | 'checkpointReceive' | 'finishReceive' | 'abortReceive'}>): void {
    const all = Object.keys(this.state.receiving).sort()
    if (all.length === 0) return
    const staged = this.state.receiving[all[c.pick % all.length]]
    const snapshot = staged.snapshot.uuid
    switch (c.op) {
      case 'resumeReceive': {
        const {instance, volume, branch, base, replaces: expected, force} = staged
        this.begin({instance, volume, branch, snapshot: staged.snapshot, base, expected, force})
        return
      }
      case 'checkpointReceive': {
        // Beyond the volume's size (1 to 4 units here) or backwards: refused.
        const received = staged.received + c.units * UNIT
        // The executor writes the stream's extents up to there, then commits the progress.
        this.devices.set(staged.device, this.newContent())
        this.apply(() => checkpointReceive(this.state, {snapshot, received}), (m) => {
          expect(m.plan).to.deep.equal([])
          expect(m.state.receiving[snapshot].received).to.equal(received)
        })
        return
      }
      case 'finishReceive': {
        const {instance, volume, branch, base, replaces: expected, force} = staged
        const request: ReceiveRequest = {instance, volume, branch, snapshot: staged.snapshot, base, expected, force}
        // Checked again now: the head, the parent and the base may have changed since the beginning.
        const model = expectReceive(this.state, request)
        // The executor writes the rest of the stream, then publishes it.
        this.devices.set(staged.device, this.newContent())
        const head = model.head === null ? null : this.state.snapshots[model.head].device
        this.apply(
          () => finishReceive(this.state, {snapshot}, this.ctx),
          (m) => {
            // The head it replaces goes at once unless something still needs it (a forced push's reflog, a tag...).
            const released = head !== null && !snapshotUsers(m.state).has(model.head as string)
            expect(m.plan).to.deep.equal(released ? [{op: 'delete', id: head}] : [])
            if (released) count('replaced head released')
            expect(m.result.device).to.equal(staged.device)
            this.checkFinished(m, request, model)
          },
          (err) => {
            this.checkRefused(err, request, model)
            expect(this.state.receiving, 'a refused finish keeps the stream staged').to.have.property(snapshot)
          },
        )
        return
      }
      case 'abortReceive':
        this.apply(() => abortReceive(this.state, {snapshot}), (m) => {
          expect(m.plan).to.deep.equal([{op: 'delete', id: staged.device}])
          expect(m.state.receiving).to.not.have.property(snapshot)
        })
        return
    }
  }

  /**
   * A published stream: the parent link and the fast-forward as the model has them, the
   * head, the reflog entry, and forced exactly where the line breaks (never without force).
   */
  private checkFinished(m: Mutation<FinishReceiveResult>, request: ReceiveRequest, model: ReceiveExpectation): void {
    const {snapshot, replaced, forced} = m.result
    this.snapshotContent.set(snapshot, this.devices.get(m.result.device) as string)
    expect(replaced).to.equal(request.expected)
    expect(replaced).to.equal(model.head)
    const published = m.state.snapshots[snapshot]
    expect(published.parent).to.equal(model.parent)
    expect(published.volume).to.equal(request.volume.uuid)
    if (model.parent === null) count('no parent')
    else if (model.parent === request.snapshot.parent && model.parent !== request.base) count('parent from the sender, not the base')
    else if (model.parent !== request.snapshot.parent) count('parent fell back to the base')
    expect(request.force || model.fastForward, 'a non-fast-forward published without force').to.equal(true)
    expect(forced).to.equal(replaced !== null && !model.fastForward)
    // The same rule in the catalog's own terms: forced exactly when the old head is not in the new line.
    expect(forced).to.equal(replaced !== null && !descendsFrom(m.state, snapshot, replaced))
    if (forced) {
      count('forced head')
      expect(request.force, 'a forced head without force').to.equal(true)
    } else if (request.force && replaced !== null) {
      count('forced fast-forward recorded as received')
    }
    expect(m.state.receiving).to.not.have.property(snapshot)
    const volume = m.state.volumes[m.result.volume]
    expect(entry(volume.remoteBranches.beta, request.branch)).to.equal(snapshot)
    const reflog = entry(volume.remoteReflogs.beta, request.branch) ?? []
    expect(reflog[0]).to.deep.equal({action: forced ? 'forced' : 'received', time: this.ctx.now, to: snapshot, displaced: forced ? replaced : null})
  }

  /** A refused stream: refused as a non-fast-forward only where the model says it is one, the head being the one the sender saw. */
  private checkRefused(err: FvmError, request: ReceiveRequest, model: ReceiveExpectation): void {
    if (!/is not a fast-forward/.test(err.message)) return
    count('non-fast-forward refused')
    expect(err.kind).to.equal('conflict')
    expect(request.force, 'a forced stream refused as a non-fast-forward').to.equal(false)
    expect(model.head).to.equal(request.expected)
    expect(model.fastForward, 'a fast-forward refused').to.equal(false)
  }

  /** Runs an operation, or accepts its refusal (checked by `refused`, if given); applies and checks its plan. */
  private apply<R>(mutation: () => Mutation<R>, check?: (m: Mutation<R>) => void, refused?: (err: FvmError) => void): R | undefined {
    let m: Mutation<R>
    try {
      m = mutation()
    } catch (err) {
      if (!(err instanceof FvmError)) throw err
      expect(['usage', 'notFound', 'conflict', 'noSpace']).to.include(err.kind)
      refused?.(err)
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
    for (const op of [...COMMANDS, ...RECEIVE_EVENTS]) expect(succeeded.get(op) ?? 0, `${op} went through`).to.be.at.least(10)
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
