// The catalog's side of sending: freezing a branch to send (a push base), recording what
// a push delivered, and forgetting a remote branch. Receiving is in ops-receive.ts; the
// stream, the transport and the negotiation live in the replication modules.
import {FvmError} from '../../errors.js'
import {checkName} from '../names.js'
import {type CatalogState, deleteEntry, entry, setEntry} from './model.js'
import {releaseSnapshots} from './ops-gc.js'
import {
  type DmOp,
  type Mutation,
  type OpContext,
  addSnapshot,
  draftOf,
  findBranch,
  findRemoteHead,
  materialised,
  parseIn,
  takeDeviceIds,
} from './ops-shared.js'

export interface PushBaseResult {
  branch: string
  snapshot: string
  device: number
}

/**
 * A read-only snapshot of the branch to send from; it becomes the branch's base (the
 * next push's delta base). The base it replaces keeps its device: an interrupted push
 * to another instance may still resume from it. recordPush lets it go once pushed over.
 */
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

/** Remembers that `instance` holds `snapshot` of the branch, keeping it as the next push's delta base instead of what it held before. */
export function recordPush(state: CatalogState, request: RecordPushRequest): Mutation<RecordPushRequest> {
  const instance = checkName('instance', request.instance)
  if (instance === state.instance.name) throw new FvmError('usage', `cannot record a push to instance "${instance}": that is this instance`)
  const draft = draftOf(state)
  const {volume, branch} = findBranch(draft, parseIn(draft, request.branch, ['branch']))
  const snapshot = entry(draft.snapshots, request.snapshot)
  if (!snapshot || snapshot.volume !== volume.uuid || snapshot.device === null) {
    throw new FvmError('notFound', `snapshot ${request.snapshot} of volume "${volume.name}" does not exist or has no device`)
  }
  const previous = entry(branch.pushed, instance) ?? null
  setEntry(branch.pushed, instance, snapshot.uuid)
  return {state: draft, plan: releaseSnapshots(draft, [previous]), result: {branch: `${volume.name}/${branch.name}`, instance, snapshot: snapshot.uuid}}
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
  const logs = entry(volume.remoteReflogs, ref.instance) ?? {}
  const displaced = (entry(logs, ref.branch) ?? []).map((e) => e.displaced)
  deleteEntry(logs, ref.branch)
  if (Object.keys(logs).length === 0) deleteEntry(volume.remoteReflogs, ref.instance)
  const plan = releaseSnapshots(draft, [snapshot.uuid, ...displaced])
  const remoteBranch = `${ref.instance}/${volume.name}/${ref.branch}`
  return {state: draft, plan, result: {remoteBranch, deleted: plan.map((op) => op.id)}}
}

export interface FastForwardResult {
  branch: string
  from: string | null
  to: string
  device: number
}

/**
 * Moves a branch onto a newer snapshot of its volume (a pull): a fresh device copied
 * from it replaces the branch's. The caller has made sure nothing was written to the
 * branch since its base and that the base is in the snapshot's line, so nothing is lost.
 */
export function fastForwardBranch(state: CatalogState, request: {branch: string; to: string}, context: OpContext): Mutation<FastForwardResult> {
  const draft = draftOf(state)
  const {volume, branch} = findBranch(draft, parseIn(draft, request.branch, ['branch']))
  const to = materialised(draft, request.to)
  if (to.volume !== volume.uuid) throw new FvmError('usage', `snapshot ${to.uuid} is not of volume "${volume.name}"`)
  const [device] = takeDeviceIds(draft, 1)
  const plan: DmOp[] = [{op: 'delete', id: branch.device}, {op: 'create_snap', id: device, origin: to.device}]
  const from = branch.base
  branch.device = device
  branch.base = to.uuid
  branch.reflog.unshift({action: 'fast-forward', time: context.now, to: to.uuid, displaced: null})
  plan.push(...releaseSnapshots(draft, [from]))
  return {state: draft, plan, result: {branch: `${volume.name}/${branch.name}`, from, to: to.uuid, device}}
}
