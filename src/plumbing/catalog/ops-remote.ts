// The catalog's side of replication: freezing a branch to send (a push base), recording
// what a push delivered, publishing a received snapshot as a remote branch's head, and
// forgetting a remote branch. The stream, the transport and the negotiation live in the
// replication modules.
import {FvmError} from '../../errors.js'
import {checkName} from '../names.js'
import {type CatalogState, type Snapshot, type Volume, deleteEntry, entry, isUuid, setEntry} from './model.js'
import {releaseSnapshots} from './ops-gc.js'
import {
  type DmOp,
  type Mutation,
  type OpContext,
  addSnapshot,
  checkQuota,
  checkSize,
  draftOf,
  findBranch,
  findRemoteHead,
  parseIn,
  takeDeviceIds,
} from './ops-shared.js'

export interface PushBaseResult {
  branch: string
  snapshot: string
  device: number
}

/** A read-only snapshot of the branch to send from; it becomes the branch's base (the next push's delta base). */
export function createPushBase(state: CatalogState, request: {branch: string}, context: OpContext): Mutation<PushBaseResult> {
  const draft = draftOf(state)
  const {volume, branch} = findBranch(draft, parseIn(draft, request.branch, ['branch']))
  const [device] = takeDeviceIds(draft, 1)
  const snapshot = addSnapshot(draft, context, {volume, parent: branch.base, device, origin: {kind: 'push-base', branch: branch.name}})
  branch.base = snapshot.uuid
  return {
    state: draft,
    plan: [{op: 'create_snap', id: device, origin: branch.device}],
    result: {branch: `${volume.name}/${branch.name}`, snapshot: snapshot.uuid, device},
  }
}

export interface RecordPushRequest {
  /** VOLUME/BRANCH that was pushed. */
  branch: string
  instance: string
  /** The snapshot of the volume the instance now holds (usually a push base). */
  snapshot: string
}

/** Remembers that `instance` holds `snapshot` of the branch, keeping it as the next push's delta base. */
export function recordPush(state: CatalogState, request: RecordPushRequest): Mutation<RecordPushRequest> {
  const instance = checkName('instance', request.instance)
  if (instance === state.instance.name) throw new FvmError('usage', `cannot record a push to instance "${instance}": that is this instance`)
  const draft = draftOf(state)
  const {volume, branch} = findBranch(draft, parseIn(draft, request.branch, ['branch']))
  const snapshot = entry(draft.snapshots, request.snapshot)
  if (!snapshot || snapshot.volume !== volume.uuid || snapshot.device === null) {
    throw new FvmError('notFound', `snapshot ${request.snapshot} of volume "${volume.name}" does not exist or has no device`)
  }
  setEntry(branch.pushed, instance, snapshot.uuid)
  return {state: draft, plan: [], result: {branch: `${volume.name}/${branch.name}`, instance, snapshot: snapshot.uuid}}
}

export interface ReceiveRequest {
  /** The sending instance's name. */
  instance: string
  /** The volume as the sender knows it; created here on its first snapshot. */
  volume: {uuid: string; name: string; size: number}
  branch: string
  /** The sender's snapshot: its uuid, its parent in the sender's lineage, its time. */
  snapshot: {uuid: string; parent: string | null; created: string}
  /** The local snapshot the stream is a delta against; null for a full stream. */
  base: string | null
  /** The head this one replaces (compare-and-swap); null when the remote branch is new here. */
  expected: string | null
}

export interface ReceiveResult {
  remoteBranch: string
  volume: string
  volumeCreated: boolean
  snapshot: string
  /** The new device the executor writes the stream's extents into, in the same pool commit. */
  device: number
}

/**
 * Makes the received snapshot the remote branch's head: a new device, a snapshot of the
 * delta base (or an empty one for a full stream). The head it replaces stays until gc.
 * The parent link keeps the sender's lineage where it is known here, else falls back
 * to the delta base, an ancestor that is.
 */
export function receiveRemoteBranch(state: CatalogState, request: ReceiveRequest, context: OpContext): Mutation<ReceiveResult> {
  const instance = checkName('instance', request.instance)
  if (instance === state.instance.name) {
    throw new FvmError('usage', `cannot receive from instance "${instance}": that is this instance`)
  }
  const branchName = checkName('branch', request.branch)
  const {snapshot: sent} = request
  if (!isUuid(sent.uuid) || Number.isNaN(Date.parse(sent.created))) {
    throw new FvmError('usage', `invalid snapshot from "${instance}": needs a lowercase uuid and an ISO time`)
  }
  if (entry(state.snapshots, sent.uuid)) throw new FvmError('conflict', `snapshot ${sent.uuid} is already here`)

  const draft = draftOf(state)
  const {volume, created: volumeCreated} = receivingVolume(draft, request, context)
  const remote = `${instance}/${volume.name}/${branchName}`
  const heads = entry(volume.remoteBranches, instance) ?? {}
  const current = entry(heads, branchName) ?? null
  if (current !== request.expected) {
    throw new FvmError('conflict', `remote branch "${remote}" moved: expected ${request.expected ?? 'none'}, found ${current ?? 'none'}`)
  }
  const base = request.base === null ? null : deltaBase(draft, volume, request.base)
  const parentKnown = sent.parent !== null && entry(draft.snapshots, sent.parent)?.volume === volume.uuid

  const [device] = takeDeviceIds(draft, 1)
  const snapshot: Snapshot = {
    uuid: sent.uuid,
    volume: volume.uuid,
    parent: parentKnown ? sent.parent : request.base,
    device,
    created: sent.created,
    origin: {kind: 'received', instance, branch: branchName},
  }
  setEntry(draft.snapshots, snapshot.uuid, snapshot)
  setEntry(heads, branchName, snapshot.uuid)
  setEntry(volume.remoteBranches, instance, heads)

  const plan: DmOp[] = [base === null ? {op: 'create_thin', id: device} : {op: 'create_snap', id: device, origin: base}]
  return {state: draft, plan, result: {remoteBranch: remote, volume: volume.uuid, volumeCreated, snapshot: sent.uuid, device}}
}

/** The local volume with the sender's uuid, created if this is its first snapshot here. */
function receivingVolume(draft: CatalogState, request: ReceiveRequest, context: OpContext): {volume: Volume; created: boolean} {
  const {uuid, size} = request.volume
  const name = checkName('volume', request.volume.name)
  checkSize(size)
  if (!isUuid(uuid)) throw new FvmError('usage', `invalid volume uuid "${uuid}" from "${request.instance}"`)
  const existing = entry(draft.volumes, uuid)
  if (existing) {
    if (existing.name !== name || existing.size !== size) {
      throw new FvmError(
        'conflict',
        `volume ${uuid} is "${existing.name}" of ${existing.size} bytes here, but "${name}" of ${size} bytes on "${request.instance}"`,
      )
    }
    return {volume: existing, created: false}
  }
  const namesake = Object.values(draft.volumes).find((v) => v.name === name)
  if (namesake) {
    const sender = `"${request.instance}" sends ${uuid}`
    throw new FvmError('conflict', `volume "${name}" here is ${namesake.uuid}, another volume than the one ${sender}`)
  }
  checkQuota(draft, name, size)
  const volume: Volume = {
    uuid,
    name,
    size,
    created: context.now,
    source: {kind: 'received', instance: request.instance},
    branches: {},
    tags: {},
    remoteBranches: {},
  }
  setEntry(draft.volumes, uuid, volume)
  return {volume, created: true}
}

/** The device of the delta base, which must be a snapshot of the volume that still has one. */
function deltaBase(draft: CatalogState, volume: Volume, uuid: string): number {
  const snapshot = entry(draft.snapshots, uuid)
  if (!snapshot || snapshot.volume !== volume.uuid || snapshot.device === null) {
    throw new FvmError('notFound', `delta base ${uuid} is not a snapshot of volume "${volume.name}" here`, {
      hint: 'send the whole volume instead',
    })
  }
  return snapshot.device
}

export interface RemoveRemoteBranchResult {
  remoteBranch: string
  /** The head's device, unless a tag, branch or reflog still needs it. */
  deleted: number[]
}

export function removeRemoteBranch(state: CatalogState, request: {remoteBranch: string}): Mutation<RemoveRemoteBranchResult> {
  const draft = draftOf(state)
  const ref = parseIn(draft, request.remoteBranch, ['remote-branch'])
  const {volume, snapshot} = findRemoteHead(draft, ref)
  const heads = entry(volume.remoteBranches, ref.instance) ?? {}
  deleteEntry(heads, ref.branch)
  if (Object.keys(heads).length === 0) deleteEntry(volume.remoteBranches, ref.instance)
  const plan = releaseSnapshots(draft, [snapshot.uuid])
  const remoteBranch = `${ref.instance}/${volume.name}/${ref.branch}`
  return {state: draft, plan, result: {remoteBranch, deleted: plan.map((op) => op.id)}}
}
