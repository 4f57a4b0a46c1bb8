// Read-only questions for the interrogating commands: lists, volume info, a line's
// history, and which device a reference names. Plain JSON results, sorted by name.
import {checkName} from '../names.js'
import {type Ref, formatRef} from '../refs.js'
import {type CatalogState, type ReflogEntry, type Snapshot, type SnapshotOrigin, type Volume, type VolumeSource, entry} from './model.js'
import {snapshotUsers} from './ops-gc.js'
import {findBranch, findRemoteHead, findTag, parseIn, snapshotOf, volumeNamed} from './ops-shared.js'

export interface VolumeSummary {
  name: string
  uuid: string
  size: number
  created: string
  branches: number
  tags: number
  remoteBranches: number
}

export interface BranchSummary {
  branch: string
  volume: string
  name: string
  device: number
  base: string | null
  created: string
  /** Instance name -> the snapshot of this branch it last received. */
  pushed: Record<string, string>
}

export interface TagSummary {
  tag: string
  volume: string
  name: string
  snapshot: string
  device: number | null
  created: string
}

export interface RemoteBranchSummary {
  remoteBranch: string
  instance: string
  volume: string
  name: string
  snapshot: string
  device: number | null
  created: string
}

export interface SnapshotSummary {
  snapshot: string
  parent: string | null
  device: number | null
  created: string
  origin: SnapshotOrigin
  /** Why it keeps its device; empty: gc deletes it. */
  neededBy: string[]
}

export interface VolumeInfo {
  name: string
  uuid: string
  size: number
  created: string
  source: VolumeSource
  branches: BranchSummary[]
  tags: TagSummary[]
  remoteBranches: RemoteBranchSummary[]
  /** Every snapshot of the volume, oldest first. */
  snapshots: SnapshotSummary[]
}

function byName<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)
}

/** The volumes to list: one by name, or all of them sorted by name. */
function volumesOf(state: CatalogState, volume?: string): Volume[] {
  if (volume !== undefined) return [volumeNamed(state, checkName('volume', volume))]
  return Object.values(state.volumes).sort(byName((v) => v.name))
}

export function listVolumes(state: CatalogState): VolumeSummary[] {
  return volumesOf(state).map((v) => ({
    name: v.name,
    uuid: v.uuid,
    size: v.size,
    created: v.created,
    branches: Object.keys(v.branches).length,
    tags: Object.keys(v.tags).length,
    remoteBranches: Object.values(v.remoteBranches).reduce((n, heads) => n + Object.keys(heads).length, 0),
  }))
}

export function listBranches(state: CatalogState, volume?: string): BranchSummary[] {
  return volumesOf(state, volume).flatMap((v) =>
    Object.values(v.branches)
      .sort(byName((b) => b.name))
      .map((b) => ({
        branch: `${v.name}/${b.name}`,
        volume: v.name,
        name: b.name,
        device: b.device,
        base: b.base,
        created: b.created,
        pushed: b.pushed,
      })),
  )
}

export function listTags(state: CatalogState, volume?: string): TagSummary[] {
  return volumesOf(state, volume).flatMap((v) =>
    Object.values(v.tags)
      .sort(byName((t) => t.name))
      .map((t) => {
        const {device, created} = snapshotOf(state, t.snapshot)
        return {tag: `${t.name}@${v.name}`, volume: v.name, name: t.name, snapshot: t.snapshot, device, created}
      }),
  )
}

export function listRemoteBranches(state: CatalogState, volume?: string): RemoteBranchSummary[] {
  return volumesOf(state, volume).flatMap((v) =>
    Object.entries(v.remoteBranches)
      .flatMap(([instance, heads]) => Object.entries(heads).map(([name, snapshot]) => ({instance, name, snapshot})))
      .sort(byName((r) => `${r.instance}/${r.name}`))
      .map(({instance, name, snapshot}) => {
        const {device, created} = snapshotOf(state, snapshot)
        return {remoteBranch: `${instance}/${v.name}/${name}`, instance, volume: v.name, name, snapshot, device, created}
      }),
  )
}

export function volumeInfo(state: CatalogState, name: string): VolumeInfo {
  const volume = volumeNamed(state, checkName('volume', name))
  const users = snapshotUsers(state)
  const snapshots = Object.values(state.snapshots)
    .filter((s) => s.volume === volume.uuid)
    .sort(byName((s) => `${s.created} ${s.uuid}`))
    .map((s) => ({...summary(s), neededBy: users.get(s.uuid) ?? []}))
  return {
    name: volume.name,
    uuid: volume.uuid,
    size: volume.size,
    created: volume.created,
    source: volume.source,
    branches: listBranches(state, volume.name),
    tags: listTags(state, volume.name),
    remoteBranches: listRemoteBranches(state, volume.name),
    snapshots,
  }
}

function summary(s: Snapshot): Omit<SnapshotSummary, 'neededBy'> {
  return {snapshot: s.uuid, parent: s.parent, device: s.device, created: s.created, origin: s.origin}
}

export interface LogEntry extends Omit<SnapshotSummary, 'neededBy'> {
  /** Tags on this snapshot now. */
  tags: string[]
}

export interface LogResult {
  ref: string
  /** The line's snapshots, newest first, following parent links. */
  lineage: LogEntry[]
  /** For a branch or remote branch: what happened to it, newest first. */
  reflog: ReflogEntry[]
}

/** The history of a branch, remote branch or tag (`TAG` alone needs `volume`). */
export function log(state: CatalogState, text: string, options: {volume?: string} = {}): LogResult {
  const ref = parseIn(state, text, ['branch', 'remote-branch', 'tag'], options.volume)
  const {volume, start, reflog} = lineStart(state, ref)
  const tagsOf = new Map<string, string[]>()
  for (const tag of Object.values(volume.tags).sort(byName((t) => t.name))) {
    tagsOf.set(tag.snapshot, [...(tagsOf.get(tag.snapshot) ?? []), `${tag.name}@${volume.name}`])
  }
  const lineage: LogEntry[] = []
  for (let uuid = start; uuid !== null; ) {
    const snapshot = snapshotOf(state, uuid)
    lineage.push({...summary(snapshot), tags: tagsOf.get(uuid) ?? []})
    uuid = snapshot.parent
  }
  return {ref: formatRef(ref), lineage, reflog}
}

/** Where a line's history starts: a branch's base, a remote head, a tag's snapshot. */
function lineStart(
  state: CatalogState,
  ref: Exclude<Ref, {kind: 'volume'}>,
): {volume: Volume; start: string | null; reflog: ReflogEntry[]} {
  switch (ref.kind) {
    case 'branch': {
      const {volume, branch} = findBranch(state, ref)
      return {volume, start: branch.base, reflog: branch.reflog}
    }
    case 'remote-branch': {
      const {volume, snapshot} = findRemoteHead(state, ref)
      const reflog = entry(entry(volume.remoteReflogs, ref.instance) ?? {}, ref.branch) ?? []
      return {volume, start: snapshot.uuid, reflog}
    }
    case 'tag': {
      const {volume, snapshot} = findTag(state, ref)
      return {volume, start: snapshot.uuid, reflog: []}
    }
  }
}

export interface ResolvedDevice {
  ref: string
  kind: 'branch' | 'remote-branch' | 'tag'
  volume: string
  device: number
  /** The snapshot a read-only device holds; null for a branch. */
  snapshot: string | null
  /** Only a local branch's device may be written. */
  writable: boolean
}

/** The thin device a branch, remote branch or tag names (`TAG` alone needs `volume`). */
export function resolveDevice(state: CatalogState, text: string, options: {volume?: string} = {}): ResolvedDevice {
  const ref = parseIn(state, text, ['branch', 'remote-branch', 'tag'], options.volume)
  const name = formatRef(ref)
  switch (ref.kind) {
    case 'branch': {
      const {volume, branch} = findBranch(state, ref)
      return {ref: name, kind: ref.kind, volume: volume.uuid, device: branch.device, snapshot: null, writable: true}
    }
    case 'remote-branch':
    case 'tag': {
      const {volume, snapshot} = ref.kind === 'tag' ? findTag(state, ref) : findRemoteHead(state, ref)
      return {ref: name, kind: ref.kind, volume: volume.uuid, device: snapshot.device, snapshot: snapshot.uuid, writable: false}
    }
  }
}
