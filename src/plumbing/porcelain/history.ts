// A volume's or a line's history, newest first, for `fvm log`: the snapshots of its
// lineage (tags, branch points, push bases, received heads) and what happened to its
// branches (created, rolled back, rollback undone), with times.
import type {CatalogState, ReflogAction, ReflogEntry, SnapshotOrigin, Volume, VolumeSource} from '../catalog/model.js'
import {type SnapshotSummary, log} from '../catalog/ops-lookups.js'
import {volumeNamed} from '../catalog/ops-shared.js'
import {type InstanceContext, withInstance} from '../instance-open.js'
import {checkRef} from './entry.js'

export type HistoryEntry =
  /** A snapshot was made; `tags` name it now. */
  | {kind: 'snapshot'; time: string; snapshot: string; parent: string | null; device: number | null; origin: SnapshotOrigin; tags: string[]}
  /** A branch (re)started from `to` (tagged `tags` now); a rollback keeps what it held as `displaced`. */
  | {kind: 'reflog'; time: string; branch: string; action: ReflogAction; to: string | null; tags: string[]; displaced: string | null}
  | {kind: 'volume'; time: string; volume: string; size: number; source: VolumeSource}

export interface HistoryResult {
  /** The volume, branch, remote branch or tag asked about (a branch named HOST/VOLUME/BRANCH with this instance as HOST comes back as VOLUME/BRANCH). */
  ref: string
  volume: string
  /** Newest first. */
  entries: HistoryEntry[]
}

/** The history of a volume (all its branches) or of one branch, remote branch or tag. */
export function history(o: InstanceContext & {ref: string}): HistoryResult {
  const ref = checkRef(o.ref, ['volume', 'branch', 'remote-branch', 'tag'])
  return withInstance(o, ({catalog}) => {
    const state = catalog.committed().value
    const volume = volumeNamed(state, ref.volume)
    const line = ref.kind === 'volume' ? {ref: volume.name, entries: volumeEntries(state, volume)} : lineEntries(state, volume, o.ref)
    // Stable: at equal times a branch's move stays above the snapshot it made.
    const entries = line.entries.sort((a, b) => Date.parse(b.time) - Date.parse(a.time))
    return {ref: line.ref, volume: volume.name, entries}
  })
}

type TagsOf = (uuid: string | null) => string[]

function tagsBySnapshot(volume: Volume): TagsOf {
  const tags = new Map<string, string[]>()
  for (const tag of Object.values(volume.tags).sort((a, b) => a.name.localeCompare(b.name))) {
    tags.set(tag.snapshot, [...(tags.get(tag.snapshot) ?? []), `${tag.name}@${volume.name}`])
  }
  return (uuid) => (uuid === null ? [] : (tags.get(uuid) ?? []))
}

function moveEntry(branch: string, e: ReflogEntry, tagsOf: TagsOf): HistoryEntry {
  return {kind: 'reflog', time: e.time, branch, action: e.action, to: e.to, tags: tagsOf(e.to), displaced: e.displaced}
}

function snapshotEntry(s: Omit<SnapshotSummary, 'neededBy'>, tags: string[]): HistoryEntry {
  return {kind: 'snapshot', time: s.created, snapshot: s.snapshot, parent: s.parent, device: s.device, origin: s.origin, tags}
}

/**
 * Every snapshot of the volume but the displaced ones (the rollbacks that made them say
 * what they hold), every branch's reflog, and the volume's creation.
 */
function volumeEntries(state: CatalogState, volume: Volume): HistoryEntry[] {
  const tagsOf = tagsBySnapshot(volume)
  const moves = Object.values(volume.branches).flatMap((b) => b.reflog.map((e) => moveEntry(`${volume.name}/${b.name}`, e, tagsOf)))
  const snapshots = Object.values(state.snapshots)
    .filter((s) => s.volume === volume.uuid && s.origin.kind !== 'displaced')
    .map((s) => snapshotEntry({snapshot: s.uuid, parent: s.parent, device: s.device, created: s.created, origin: s.origin}, tagsOf(s.uuid)))
  const created: HistoryEntry = {kind: 'volume', time: volume.created, volume: volume.name, size: volume.size, source: volume.source}
  return [...moves, ...snapshots, created]
}

/** The line's lineage (parent links from its newest snapshot) and, for a branch, its reflog. */
function lineEntries(state: CatalogState, volume: Volume, text: string): {ref: string; entries: HistoryEntry[]} {
  const tagsOf = tagsBySnapshot(volume)
  const {ref, lineage, reflog} = log(state, text)
  return {ref, entries: [...reflog.map((e) => moveEntry(ref, e, tagsOf)), ...lineage.map((s) => snapshotEntry(s, s.tags))]}
}
