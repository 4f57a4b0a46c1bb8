// What every catalog operation shares: the shape of a mutation and its dm-thin plan,
// the injected clock and uuid source, lookups that fail with precise errors, device id
// allocation and new snapshot records.
//
// An operation is pure: (state, request, context) -> {state, plan, result}. It works on
// a deep copy (its draft), so the caller's state is never touched. The executor applies
// `plan` in order, with set_transaction_id, in one pool commit between preparing and
// committing the new state.
import {FvmError} from '../../errors.js'
import {type Ref, type RefKind, formatRef, parseRef} from '../refs.js'
import {
  type Branch,
  type CatalogState,
  type Snapshot,
  type SnapshotOrigin,
  type Volume,
  deviceHolders,
  entry,
  isUuid,
  setEntry,
} from './model.js'

export interface OpContext {
  /** ISO 8601 time of the operation. */
  now: string
  newUuid(): string
}

export type DmOp =
  | {op: 'create_thin'; id: number}
  | {op: 'create_snap'; id: number; origin: number}
  | {op: 'delete'; id: number}

export interface Mutation<R> {
  state: CatalogState
  /** dm-thin operations to apply, in order, in the same pool commit as the new transaction id. */
  plan: DmOp[]
  result: R
}

export function draftOf(state: CatalogState): CatalogState {
  return structuredClone(state)
}

export function volumeNamed(state: CatalogState, name: string): Volume {
  const volume = Object.values(state.volumes).find((v) => v.name === name)
  if (!volume) throw new FvmError('notFound', `volume "${name}" does not exist`)
  return volume
}

/** Parses `text` as one of `accept`, knowing this instance's name (and the volume of a bare tag). */
export function parseIn<K extends RefKind>(
  state: CatalogState,
  text: string,
  accept: readonly K[],
  volume?: string,
): Extract<Ref, {kind: K}> {
  return parseRef(text, {accept, instance: state.instance.name, volume})
}

export function findBranch(state: CatalogState, ref: {volume: string; branch: string}): {volume: Volume; branch: Branch} {
  const volume = volumeNamed(state, ref.volume)
  const branch = entry(volume.branches, ref.branch)
  if (!branch) throw new FvmError('notFound', `branch "${ref.volume}/${ref.branch}" does not exist`)
  return {volume, branch}
}

export function findTag(state: CatalogState, ref: {volume: string; tag: string}): {volume: Volume; snapshot: Materialised} {
  const volume = volumeNamed(state, ref.volume)
  const tag = entry(volume.tags, ref.tag)
  if (!tag) throw new FvmError('notFound', `tag "${ref.tag}@${ref.volume}" does not exist`)
  return {volume, snapshot: materialised(state, tag.snapshot)}
}

export function findRemoteHead(
  state: CatalogState,
  ref: {instance: string; volume: string; branch: string},
): {volume: Volume; snapshot: Materialised} {
  const volume = volumeNamed(state, ref.volume)
  const head = entry(entry(volume.remoteBranches, ref.instance) ?? {}, ref.branch)
  if (head === undefined) throw new FvmError('notFound', `remote branch "${ref.instance}/${ref.volume}/${ref.branch}" does not exist`)
  return {volume, snapshot: materialised(state, head)}
}

/** A snapshot that still has its device. */
export type Materialised = Snapshot & {device: number}

export function snapshotOf(state: CatalogState, uuid: string): Snapshot {
  const snapshot = entry(state.snapshots, uuid)
  if (!snapshot) throw new FvmError('corrupt', `catalog names missing snapshot ${uuid}`, {hint: 'run "fvm check"'})
  return snapshot
}

export function materialised(state: CatalogState, uuid: string): Materialised {
  const snapshot = snapshotOf(state, uuid)
  if (snapshot.device === null) throw new FvmError('corrupt', `snapshot ${uuid} has lost its device`, {hint: 'run "fvm check"'})
  return snapshot as Materialised
}

/** What a new device can be copied from: a local branch, or a snapshot (a tag or a remote branch's head). */
export type Source =
  | {kind: 'branch'; ref: string; volume: Volume; branch: Branch}
  | {kind: 'snapshot'; ref: string; volume: Volume; snapshot: Materialised}

export function findSource(state: CatalogState, ref: Exclude<Ref, {kind: 'volume'}>): Source {
  switch (ref.kind) {
    case 'branch':
      return {kind: 'branch', ref: formatRef(ref), ...findBranch(state, ref)}
    case 'remote-branch':
      return {kind: 'snapshot', ref: formatRef(ref), ...findRemoteHead(state, ref)}
    case 'tag':
      return {kind: 'snapshot', ref: formatRef(ref), ...findTag(state, ref)}
  }
}

export function sourceDevice(source: Source): number {
  return source.kind === 'branch' ? source.branch.device : source.snapshot.device
}

/**
 * Takes `count` free device ids round-robin from the range's cursor (see DeviceIdRange),
 * skipping every id the draft holds, so no id is handed out twice.
 */
export function takeDeviceIds(draft: CatalogState, count: number): number[] {
  const {first, last} = draft.deviceIds
  const held = deviceHolders(draft)
  const size = last - first + 1
  const taken: number[] = []
  let id = draft.deviceIds.next
  for (let tried = 0; tried < size && taken.length < count; tried++) {
    if (!held.has(id)) taken.push(id)
    id = id === last ? first : id + 1
  }
  if (taken.length < count) {
    throw new FvmError('noSpace', `no free device id: ${count} needed, ${taken.length} of ${size} (${first}..${last}) free`, {
      hint: 'remove volumes, branches or tags you no longer need, then run gc',
    })
  }
  draft.deviceIds.next = id
  return taken
}

/** A uuid from the context that nothing in the draft uses yet. */
export function freshUuid(draft: CatalogState, context: OpContext): string {
  const uuid = context.newUuid()
  if (!isUuid(uuid)) throw new FvmError('failure', `the uuid source gave "${uuid}", which is not a lowercase uuid`)
  if (entry(draft.snapshots, uuid) || entry(draft.volumes, uuid)) {
    throw new FvmError('failure', `the uuid source gave ${uuid}, which is already in use`)
  }
  return uuid
}

/** Records a new snapshot in the draft. */
export function addSnapshot(
  draft: CatalogState,
  context: OpContext,
  fields: {volume: Volume; parent: string | null; device: number; origin: SnapshotOrigin},
): Materialised {
  const snapshot = {
    uuid: freshUuid(draft, context),
    volume: fields.volume.uuid,
    parent: fields.parent,
    device: fields.device,
    created: context.now,
    origin: fields.origin,
  }
  setEntry(draft.snapshots, snapshot.uuid, snapshot)
  return snapshot
}

/** Bytes in a sector: block devices (and the kernel's thin devices) come in whole sectors. */
export const SECTOR = 512

export function usedBytes(state: CatalogState): number {
  return Object.values(state.volumes).reduce((sum, volume) => sum + volume.size, 0)
}

/** Refuses a new volume of `size` bytes that would take the volumes past the quota. */
export function checkQuota(state: CatalogState, name: string, size: number): void {
  const used = usedBytes(state)
  if (state.quota === null || used + size <= state.quota) return
  throw new FvmError(
    'noSpace',
    `quota exceeded by ${used + size - state.quota} bytes: volume "${name}" needs ${size}, volumes already use ${used} of ${state.quota}`,
    {hint: 'remove volumes you no longer need, or raise the quota'},
  )
}

export function checkSize(size: unknown): number {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) {
    throw new FvmError('usage', `invalid size ${String(size)}: must be a positive whole number of bytes`)
  }
  return size
}
