// The catalog's side of receiving a snapshot another instance sends. A stream is staged
// in a device of its own that no name shows (a copy of its delta base, or empty), its
// progress committed as it goes so an interrupted transfer resumes; only when the whole
// stream has arrived and checked out does one commit make it the remote branch's head,
// with a compare-and-swap of the head the sender saw.
import {FvmError} from '../../errors.js'
import {checkName} from '../names.js'
import {type CatalogState, type Receiving, type Snapshot, type Volume, deleteEntry, entry, isUuid, setEntry} from './model.js'
import {type DmOp, type Mutation, type OpContext, SECTOR, checkQuota, checkSize, draftOf, takeDeviceIds} from './ops-shared.js'
import {releaseSnapshots} from './ops-gc.js'

export interface ReceiveRequest {
  /** The sending instance's name. */
  instance: string
  /** The volume as the sender knows it; `name` is what it is called here if it is new. */
  volume: {uuid: string; name: string; size: number}
  branch: string
  /** The sender's snapshot: its uuid, its parent in the sender's lineage, its time. */
  snapshot: {uuid: string; parent: string | null; created: string}
  /** The local snapshot the stream is a delta against; null for a full stream. */
  base: string | null
  /** The head the sender saw here (compare-and-swap); null when it saw none. */
  expected: string | null
  /** Replace a head the new snapshot does not descend from (the old one stays in the reflog). */
  force: boolean
}

export interface BeginReceiveResult {
  remoteBranch: string
  /** The staged device the stream's extents go into. */
  device: number
  /** Bytes into the volume already received and committed: the stream resumes here. */
  received: number
  /** Whether this continues an interrupted transfer of the same snapshot. */
  resumed: boolean
}

/** The head of `instance`'s `branch` of the volume with `uuid` here, null if there is none. */
export function remoteHead(state: CatalogState, request: {instance: string; volume: string; branch: string}): string | null {
  const volume = entry(state.volumes, request.volume)
  return (volume && entry(entry(volume.remoteBranches, request.instance) ?? {}, request.branch)) ?? null
}

/** Whether `ancestor` is `uuid` or one of its ancestors in this instance's lineage. */
export function descendsFrom(state: CatalogState, uuid: string | null, ancestor: string): boolean {
  for (let at = uuid; at !== null; at = entry(state.snapshots, at)?.parent ?? null) {
    if (at === ancestor) return true
  }
  return false
}

/**
 * Stages a stream: checks everything that can be checked before data moves (names, the
 * volume, the quota, the compare-and-swap, fast-forward) and makes the staged device.
 * The same snapshot staged before continues from its progress; any other stream staged
 * for the same remote branch is dropped, its device deleted.
 */
export function beginReceive(state: CatalogState, request: ReceiveRequest, context: OpContext): Mutation<BeginReceiveResult> {
  const instance = checkName('instance', request.instance)
  if (instance === state.instance.name) {
    throw new FvmError('usage', `cannot receive from instance "${instance}": that is this instance`)
  }
  const branch = checkName('branch', request.branch)
  const sent = request.snapshot
  if (!isUuid(sent.uuid) || (sent.parent !== null && !isUuid(sent.parent)) || Number.isNaN(Date.parse(sent.created))) {
    throw new FvmError('usage', `invalid snapshot from "${instance}": needs lowercase uuids and an ISO time`)
  }
  if (entry(state.snapshots, sent.uuid)) throw new FvmError('conflict', `snapshot ${sent.uuid} is already here`)
  const draft = draftOf(state)
  const volume = receivingVolume(draft, request)
  const remote = `${instance}/${volume?.name ?? request.volume.name}/${branch}`
  const parent = parentHere(draft, request.volume.uuid, sent.parent, request.base)
  const plan: DmOp[] = []
  const staged = entry(draft.receiving, sent.uuid)
  const sameStream =
    staged?.base === request.base &&
    staged.instance === instance &&
    staged.branch === branch &&
    staged.volume.uuid === request.volume.uuid &&
    staged.volume.size === request.volume.size
  if (staged && sameStream) {
    // Its device is a copy of the base already: the base need not still have one.
    checkHead(draft, request, parent, remote)
    staged.replaces = request.expected
    staged.force = request.force
    return {state: draft, plan, result: {remoteBranch: remote, device: staged.device, received: staged.received, resumed: true}}
  }
  const base = request.base === null ? null : deltaBase(draft, volume, request.base)
  checkHead(draft, request, parent, remote)
  // The new id is taken while the dropped streams still hold theirs: a freed id comes back only after a full turn.
  const [device] = takeDeviceIds(draft, 1)
  for (const other of Object.values(draft.receiving)) {
    const sameBranch = other.instance === instance && other.volume.uuid === request.volume.uuid && other.branch === branch
    if (!sameBranch && other.snapshot.uuid !== sent.uuid) continue
    plan.push({op: 'delete', id: other.device})
    deleteEntry(draft.receiving, other.snapshot.uuid)
  }
  const receiving: Receiving = {
    instance,
    branch,
    volume: {uuid: request.volume.uuid, name: volume?.name ?? request.volume.name, size: request.volume.size},
    snapshot: {uuid: sent.uuid, parent: sent.parent, created: sent.created},
    base: request.base,
    device,
    replaces: request.expected,
    force: request.force,
    received: 0,
    started: context.now,
  }
  setEntry(draft.receiving, sent.uuid, receiving)
  plan.push(base === null ? {op: 'create_thin', id: device} : {op: 'create_snap', id: device, origin: base})
  return {state: draft, plan, result: {remoteBranch: remote, device, received: 0, resumed: false}}
}

/** Records that the stream is applied (and, in the same pool commit, written) up to byte `received`. */
export function checkpointReceive(state: CatalogState, request: {snapshot: string; received: number}): Mutation<{received: number}> {
  const draft = draftOf(state)
  const staged = stagedOf(draft, request.snapshot)
  if (!Number.isSafeInteger(request.received) || request.received < staged.received || request.received > staged.volume.size) {
    throw new FvmError('usage', `invalid progress ${request.received} for snapshot ${staged.snapshot.uuid} (at ${staged.received})`)
  }
  staged.received = request.received
  return {state: draft, plan: [], result: {received: request.received}}
}

export interface FinishReceiveResult {
  remoteBranch: string
  volume: string
  volumeCreated: boolean
  snapshot: string
  device: number
  /** What the head was before; null for a new remote branch. */
  replaced: string | null
  /** Whether the old head is not an ancestor of the new one (only with force). */
  forced: boolean
}

/**
 * Publishes a completely received stream: the staged device becomes the snapshot's, the
 * snapshot the remote branch's head, if the head is still the one the sender saw. The
 * parent link keeps the sender's lineage where it is known here, else falls back to the
 * delta base, an ancestor that is. The head it replaces keeps its device only while
 * something needs it (a forced push's reflog entry, a tag, a branch's base).
 */
export function finishReceive(state: CatalogState, request: {snapshot: string}, context: OpContext): Mutation<FinishReceiveResult> {
  const draft = draftOf(state)
  const staged = stagedOf(draft, request.snapshot)
  const {instance, branch, snapshot: sent} = staged
  const requestLike = {instance, branch, volume: staged.volume, expected: staged.replaces, force: staged.force}
  const existing = receivingVolume(draft, requestLike)
  const remote = `${instance}/${staged.volume.name}/${branch}`
  const parent = parentHere(draft, staged.volume.uuid, sent.parent, staged.base)
  const replaced = checkHead(draft, requestLike, parent, remote)
  const volume = existing ?? newVolume(draft, staged, context)
  const snapshot: Snapshot = {
    uuid: sent.uuid,
    volume: volume.uuid,
    parent,
    device: staged.device,
    created: sent.created,
    origin: {kind: 'received', instance, branch},
  }
  deleteEntry(draft.receiving, sent.uuid)
  setEntry(draft.snapshots, snapshot.uuid, snapshot)
  const forced = replaced !== null && !descendsFrom(draft, snapshot.uuid, replaced)
  const heads = entry(volume.remoteBranches, instance) ?? {}
  setEntry(heads, branch, snapshot.uuid)
  setEntry(volume.remoteBranches, instance, heads)
  const logs = entry(volume.remoteReflogs, instance) ?? {}
  const reflog = entry(logs, branch) ?? []
  reflog.unshift({action: forced ? 'forced' : 'received', time: context.now, to: snapshot.uuid, displaced: forced ? replaced : null})
  setEntry(logs, branch, reflog)
  setEntry(volume.remoteReflogs, instance, logs)
  const result = {remoteBranch: `${instance}/${volume.name}/${branch}`, volume: volume.uuid, volumeCreated: !existing, snapshot: snapshot.uuid, device: staged.device, replaced, forced}
  return {state: draft, plan: releaseSnapshots(draft, [replaced]), result}
}

/** Drops a staged stream and its device: a refused stream leaves nothing behind. */
export function abortReceive(state: CatalogState, request: {snapshot: string}): Mutation<{snapshot: string; device: number}> {
  const draft = draftOf(state)
  const staged = stagedOf(draft, request.snapshot)
  deleteEntry(draft.receiving, staged.snapshot.uuid)
  return {state: draft, plan: [{op: 'delete', id: staged.device}], result: {snapshot: staged.snapshot.uuid, device: staged.device}}
}

function stagedOf(state: CatalogState, uuid: string): Receiving {
  const staged = entry(state.receiving, uuid)
  if (!staged) throw new FvmError('notFound', `no stream of snapshot ${uuid} is being received`)
  return staged
}

/**
 * The received snapshot's parent here: the sender's, if that snapshot is here, else the
 * delta base (an ancestor that is here; the staged device is a copy already, so the
 * base may since have lost its device, and only its record need remain), else none.
 */
function parentHere(state: CatalogState, volume: string, parent: string | null, base: string | null): string | null {
  const known = (uuid: string | null): uuid is string => uuid !== null && entry(state.snapshots, uuid)?.volume === volume
  return known(parent) ? parent : known(base) ? base : null
}

/**
 * The compare-and-swap and the fast-forward rule: the head must be the one the sender
 * saw, and unless forced an ancestor of the new snapshot (through `parent`, its parent
 * here). Returns the current head.
 */
function checkHead(
  state: CatalogState,
  request: Pick<ReceiveRequest, 'instance' | 'branch' | 'expected' | 'force'> & {volume: {uuid: string}},
  parent: string | null,
  remote: string,
): string | null {
  const current = remoteHead(state, {instance: request.instance, volume: request.volume.uuid, branch: request.branch})
  if (current !== request.expected) {
    throw new FvmError('conflict', `remote branch "${remote}" moved: expected ${request.expected ?? 'none'}, found ${current ?? 'none'}`, {
      hint: 'push again: it looks again at what the other side has',
    })
  }
  if (current !== null && !request.force && !descendsFrom(state, parent, current)) {
    throw new FvmError('conflict', `"${remote}" is not a fast-forward: its head ${current} is not in the line of what is sent`, {
      hint: 'pull and reconcile first, or push with --force (the replaced head stays in the reflog)',
    })
  }
  return current
}

/**
 * The local volume with the sender's uuid (its name here may differ), or null if it is
 * new here; refuses a size that differs and a new volume whose name is taken or that
 * the quota cannot hold.
 */
function receivingVolume(draft: CatalogState, request: Pick<ReceiveRequest, 'instance' | 'volume'>): Volume | null {
  const {uuid, size} = request.volume
  const name = checkName('volume', request.volume.name)
  checkSize(size)
  if (size % SECTOR !== 0) throw new FvmError('usage', `invalid size ${size} of volume "${name}": not a whole number of ${SECTOR}-byte sectors`)
  if (!isUuid(uuid)) throw new FvmError('usage', `invalid volume uuid "${uuid}" from "${request.instance}"`)
  const existing = entry(draft.volumes, uuid)
  if (existing) {
    if (existing.size !== size) {
      throw new FvmError('conflict', `volume "${existing.name}" (${uuid}) has ${existing.size} bytes here, but ${size} bytes on "${request.instance}"`)
    }
    return existing
  }
  const namesake = Object.values(draft.volumes).find((v) => v.name === name)
  if (namesake) {
    throw new FvmError('conflict', `volume "${name}" here is ${namesake.uuid}, another volume than the one "${request.instance}" sends (${uuid})`, {
      hint: 'receive it under another name with --as NAME',
    })
  }
  checkQuota(draft, name, size)
  return null
}

function newVolume(draft: CatalogState, staged: Receiving, context: OpContext): Volume {
  const volume: Volume = {
    uuid: staged.volume.uuid,
    name: staged.volume.name,
    size: staged.volume.size,
    created: context.now,
    source: {kind: 'received', instance: staged.instance},
    branches: {},
    tags: {},
    remoteBranches: {},
    remoteReflogs: {},
  }
  setEntry(draft.volumes, volume.uuid, volume)
  return volume
}

/** The device of the delta base, which must be a snapshot of the volume that still has one. */
function deltaBase(draft: CatalogState, volume: Volume | null, uuid: string): number {
  const snapshot = entry(draft.snapshots, uuid)
  if (!volume || !snapshot || snapshot.volume !== volume.uuid || snapshot.device === null) {
    throw new FvmError('notFound', `delta base ${uuid} is not a snapshot of volume "${volume?.name ?? '(new)'}" here`, {
      hint: 'send the whole volume instead',
    })
  }
  return snapshot.device
}
