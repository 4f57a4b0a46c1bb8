// What the two sides of a transfer tell each other and decide from it: which snapshot
// to send (a branch's hidden push base, taken only when the branch changed since its
// last one), which snapshot both have to send a delta against (the newest in the
// sent snapshot's lineage), whether it is a fast-forward, and the stream's header.
import {FvmError} from '../../errors.js'
import {type CatalogState, type Snapshot, entry, isUuid} from '../catalog/model.js'
import type {ReceiveRequest} from '../catalog/ops-receive.js'
import {remoteHead} from '../catalog/ops-receive.js'
import {createPushBase, recordPush} from '../catalog/ops-remote.js'
import {type Materialised, findBranch, materialised, parseIn} from '../catalog/ops-shared.js'
import type {InstanceContext, OpenInstance} from '../instance-open.js'
import {checkName} from '../names.js'
import {STREAM_FORMAT, type StreamHeader} from '../stream/format.js'
import {commitOperation} from '../transaction.js'
import {type Extent, type ExtentSource, type PlannedExtents, planExtents, sendStream} from './send.js'
import {type Message, type Session, field} from './session.js'

/** How far back a lineage is told to the other side: deep enough for any real history. */
const MAX_LINEAGE = 10_000

/** A snapshot's uuid and its ancestors', newest first. */
export function lineageOf(state: CatalogState, uuid: string | null): string[] {
  const line: string[] = []
  for (let at = uuid; at !== null && line.length < MAX_LINEAGE; at = entry(state.snapshots, at)?.parent ?? null) line.push(at)
  return line
}

/** Whether nothing was written to a branch's device since its base: the delta's first step tells (no full walk). */
export function unchangedSinceBase(instance: OpenInstance, branch: {device: number; base: string | null}): boolean {
  if (branch.base === null) return false
  const base = materialised(instance.catalog.committed().value, branch.base)
  return instance.pool.delta(base.device, branch.device).next().done === true
}

/**
 * The snapshot to send of VOLUME/BRANCH: its base when nothing was written since (so an
 * unchanged branch is "up to date" and costs nothing), else a new push base.
 */
export function sendableSnapshot(instance: OpenInstance, branchRef: string, ctx: InstanceContext): Materialised {
  const state = instance.catalog.committed().value
  const {branch} = findBranch(state, parseIn(state, branchRef, ['branch']))
  if (branch.base !== null && unchangedSinceBase(instance, branch)) return materialised(state, branch.base)
  const made = commitOperation(instance, (s, context) => createPushBase(s, {branch: branchRef}, context), ctx)
  return materialised(instance.catalog.committed().value, made.snapshot)
}

/** The newest snapshot of `line` the other side has that still has a device here: the delta base. */
export function commonBase(state: CatalogState, line: readonly string[], theirs: ReadonlySet<string>): string | null {
  return line.find((uuid) => theirs.has(uuid) && entry(state.snapshots, uuid)?.device != null) ?? null
}

export interface RemoteBranchState {
  /** The volume here (by the sender's uuid); null if it is new here. */
  volume: {name: string; size: number} | null
  head: string | null
  /** Snapshots of the volume here that still have devices: possible delta bases. */
  have: string[]
  /** An interrupted stream for this remote branch, staged here. */
  receiving: {snapshot: string; base: string | null; received: number} | null
}

/** The receiver's answer to "what do you have of this branch of mine". */
export function remoteState(instance: OpenInstance, request: Message): RemoteBranchState {
  const volumeUuid = uuidField(request, 'volume')
  const sender = checkName('instance', field(request, 'instance', 'string'))
  const branch = checkName('branch', field(request, 'branch', 'string'))
  const state = instance.catalog.committed().value
  const volume = entry(state.volumes, volumeUuid)
  const have = Object.values(state.snapshots)
    .filter((s) => s.volume === volumeUuid && s.device !== null)
    .map((s) => s.uuid)
  const staged = Object.values(state.receiving).find(
    (r) => r.instance === sender && r.volume.uuid === volumeUuid && r.branch === branch,
  )
  return {
    volume: volume ? {name: volume.name, size: volume.size} : null,
    head: remoteHead(state, {instance: sender, volume: volumeUuid, branch}),
    have,
    receiving: staged ? {snapshot: staged.snapshot.uuid, base: staged.base, received: staged.received} : null,
  }
}

function uuidField(message: Message, name: string, options: {nullable?: boolean} = {}): string {
  const value = field(message, name, 'string', options)
  if (value !== null && !isUuid(value)) throw new FvmError('corrupt', `message "${message.op}": field "${name}" is not a uuid`)
  return value
}

function snapshotField(message: Message): ReceiveRequest['snapshot'] {
  const s = field(message, 'snapshot', 'object') as Message
  return {uuid: uuidField(s, 'uuid'), parent: uuidField(s, 'parent', {nullable: true}), created: field(s, 'created', 'string')}
}

/** A 'receive' request, typed; the catalog operation checks the rest. */
export function receiveRequestOf(message: Message): ReceiveRequest {
  const volume = field(message, 'volume', 'object') as Message
  return {
    instance: field(message, 'instance', 'string'),
    volume: {uuid: uuidField(volume, 'uuid'), name: field(volume, 'name', 'string'), size: field(volume, 'size', 'number')},
    branch: field(message, 'branch', 'string'),
    snapshot: snapshotField(message),
    base: uuidField(message, 'base', {nullable: true}),
    expected: uuidField(message, 'expected', {nullable: true}),
    force: field(message, 'force', 'boolean'),
  }
}

export interface BranchToSend {
  volume: {uuid: string; name: string; size: number}
  branch: string
  snapshot: {uuid: string; parent: string | null; created: string}
  /** The snapshot's lineage, newest first (itself included): the receiver picks the delta base from it. */
  lineage: string[]
}

/** The sender's answer to "what would you send of VOLUME/BRANCH" (pull): the snapshot, frozen now. */
export function branchToSend(instance: OpenInstance, request: Message, ctx: InstanceContext): BranchToSend {
  const volumeName = checkName('volume', field(request, 'volume', 'string'))
  const branchName = checkName('branch', field(request, 'branch', 'string'))
  const snapshot = sendableSnapshot(instance, `${volumeName}/${branchName}`, ctx)
  const state = instance.catalog.committed().value
  const volume = state.volumes[snapshot.volume]
  return {
    volume: {uuid: volume.uuid, name: volume.name, size: volume.size},
    branch: branchName,
    snapshot: {uuid: snapshot.uuid, parent: snapshot.parent, created: snapshot.created},
    lineage: lineageOf(state, snapshot.uuid),
  }
}

export interface StreamPlan {
  header: StreamHeader
  /** What the stream carries after the header, in order. */
  extents: Iterable<Extent>
}

/**
 * The header and extents of a stream of `snapshot` against `base` from byte `resumeFrom`;
 * `walked`, when given, is that very walk, done already (against a device that maps the
 * same blocks as the snapshot).
 */
export function planStream(
  instance: OpenInstance,
  o: {snapshot: Snapshot; base: string | null; branch: string; resumeFrom: number},
  walked?: PlannedExtents,
): StreamPlan {
  const state = instance.catalog.committed().value
  const target = materialised(state, o.snapshot.uuid)
  const volume = state.volumes[target.volume]
  const base = o.base === null ? null : materialised(state, o.base)
  if (base && base.volume !== volume.uuid) throw new FvmError('usage', `snapshot ${o.base} is not of volume "${volume.name}"`)
  if (!Number.isSafeInteger(o.resumeFrom) || o.resumeFrom < 0 || o.resumeFrom > volume.size || o.resumeFrom % 512 !== 0) {
    throw new FvmError('corrupt', `cannot resume at byte ${o.resumeFrom} of volume "${volume.name}"`)
  }
  const source: ExtentSource = {pool: instance.pool, base: base?.device ?? null, target: target.device, size: volume.size, resumeFrom: o.resumeFrom}
  const planned = walked ?? planExtents(source)
  const header: StreamHeader = {
    format: STREAM_FORMAT,
    instance: instance.config.name,
    volume: {uuid: volume.uuid, name: volume.name, size: volume.size},
    branch: o.branch,
    blockSize: instance.pool.dataBlockSize,
    base: o.base,
    target: {uuid: target.uuid, parent: target.parent, created: target.created},
    resumeFrom: o.resumeFrom,
    ...planned.counts,
  }
  return {header, extents: planned.extents()}
}

/** Streams what a puller asked for: a snapshot of one of our branches against a base it has. */
export async function sendRequested(session: Session, instance: OpenInstance, request: Message, ctx: InstanceContext): Promise<void> {
  const state = instance.catalog.committed().value
  const snapshot = entry(state.snapshots, uuidField(request, 'snapshot'))
  if (!snapshot || snapshot.device === null) throw new FvmError('notFound', `snapshot ${String(request.snapshot)} is not here any more`)
  const branch = checkName('branch', field(request, 'branch', 'string'))
  const plan = planStream(instance, {snapshot, base: uuidField(request, 'base', {nullable: true}), branch, resumeFrom: field(request, 'resumeFrom', 'number')})
  await sendStream(session, plan.header, instance.pool, plan.extents, undefined, ctx.failpoint)
}

/** After a pull: the puller holds `snapshot` of the branch, the delta base of its next pull. */
export function recordSent(instance: OpenInstance, request: Message, ctx: InstanceContext, readOnly: boolean): void {
  const branch = field(request, 'branch', 'string')
  const puller = checkName('instance', field(request, 'instance', 'string'))
  const snapshot = uuidField(request, 'snapshot')
  if (readOnly) return
  commitOperation(instance, (state) => recordPush(state, {branch, instance: puller, snapshot}), ctx)
}
