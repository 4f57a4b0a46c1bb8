// Which snapshots still need their device, and deleting the devices of the others:
// gc (with its dry run) and the release step of the removals.
//
// A snapshot keeps its device while it is a tag, a branch's base (the start of the
// next delta), a remote branch's head or the last push of a branch to an instance (what
// the other side has: the base of the next pull or push), or displaced content a
// retained reflog entry can restore. Its
// ancestors need no device for any of that: the lineage only needs their records, so
// gc keeps a record while something kept leads to it through parent links, and drops
// the rest.
import {FvmError} from '../../errors.js'
import {type CatalogState, type SnapshotOrigin, deleteEntry, entry, setEntry} from './model.js'
import {type DmOp, type Mutation, draftOf} from './ops-shared.js'

/** Reflog entries gc keeps per branch, newest first: ten undoable rollbacks. */
export const DEFAULT_REFLOG_KEEP = 10

/** Why each snapshot needs its device, for every snapshot that does. */
export function snapshotUsers(state: CatalogState): Map<string, string[]> {
  const users = new Map<string, string[]>()
  const add = (uuid: string | null, why: string): void => {
    if (uuid !== null) users.set(uuid, [...(users.get(uuid) ?? []), why])
  }
  for (const volume of Object.values(state.volumes)) {
    for (const tag of Object.values(volume.tags)) add(tag.snapshot, `tag "${tag.name}@${volume.name}"`)
    for (const branch of Object.values(volume.branches)) {
      const ref = `${volume.name}/${branch.name}`
      add(branch.base, `base of branch "${ref}"`)
      branch.reflog.forEach((e, i) => add(e.displaced, `reflog entry ${i} of branch "${ref}"`))
      for (const [instance, snapshot] of Object.entries(branch.pushed)) add(snapshot, `last push of branch "${ref}" to "${instance}"`)
    }
    for (const [instance, heads] of Object.entries(volume.remoteBranches)) {
      for (const [branch, head] of Object.entries(heads)) add(head, `head of remote branch "${instance}/${volume.name}/${branch}"`)
    }
    for (const [instance, logs] of Object.entries(volume.remoteReflogs)) {
      for (const [branch, reflog] of Object.entries(logs)) {
        reflog.forEach((e, i) => add(e.displaced, `reflog entry ${i} of remote branch "${instance}/${volume.name}/${branch}"`))
      }
    }
  }
  return users
}

/**
 * Deletes the devices of those `candidates` (snapshots an operation just let go of: a
 * removal, or a newer head, base or push that supersedes them) that nothing needs any
 * more; their records stay for the lineage until gc. Done at once, not left to gc: each
 * kept device holds its copies of the btree leaves written since, and a pool pushed to
 * often would fill its metadata.
 */
export function releaseSnapshots(draft: CatalogState, candidates: Iterable<string | null>): DmOp[] {
  const users = snapshotUsers(draft)
  const released: number[] = []
  for (const uuid of new Set(candidates)) {
    const snapshot = uuid === null ? undefined : entry(draft.snapshots, uuid)
    if (!snapshot || snapshot.device === null || users.has(snapshot.uuid)) continue
    released.push(snapshot.device)
    snapshot.device = null
  }
  return released.sort((a, b) => a - b).map((id) => ({op: 'delete', id}))
}

export interface GcOptions {
  /** Reflog entries to keep per branch, newest first; at least 1, so the last rollback stays undoable. */
  reflogKeep?: number
}

export interface GcReport {
  /** Devices deleted: snapshots nothing needs any more. */
  collected: Array<{snapshot: string; volume: string; device: number; origin: SnapshotOrigin; created: string}>
  /** Reflog entries dropped beyond the retention, per branch. */
  expired: Array<{branch: string; entries: number}>
  /** Snapshot records dropped: no device, and nothing kept leads to them. */
  forgotten: string[]
  /** Staged streams of interrupted transfers dropped with their devices (a new push starts over). */
  abandoned: Array<{snapshot: string; from: string; device: number; received: number}>
}

/** The dry run: what gc would do, changing nothing. */
export function planGc(state: CatalogState, options: GcOptions = {}): GcReport {
  return gc(state, options).result
}

export function gc(state: CatalogState, options: GcOptions = {}): Mutation<GcReport> {
  const keep = options.reflogKeep ?? DEFAULT_REFLOG_KEEP
  if (!Number.isSafeInteger(keep) || keep < 1) {
    throw new FvmError('usage', `invalid reflog retention ${keep}: must be a whole number of entries, at least 1`)
  }
  const draft = draftOf(state)
  const report: GcReport = {collected: [], expired: [], forgotten: [], abandoned: []}

  for (const volume of Object.values(draft.volumes)) {
    for (const branch of Object.values(volume.branches)) {
      if (branch.reflog.length <= keep) continue
      report.expired.push({branch: `${volume.name}/${branch.name}`, entries: branch.reflog.length - keep})
      branch.reflog = branch.reflog.slice(0, keep)
    }
    for (const [instance, logs] of Object.entries(volume.remoteReflogs)) {
      for (const [branch, reflog] of Object.entries(logs)) {
        if (reflog.length <= keep) continue
        report.expired.push({branch: `${instance}/${volume.name}/${branch}`, entries: reflog.length - keep})
        setEntry(logs, branch, reflog.slice(0, keep))
      }
    }
  }
  for (const staged of Object.values(draft.receiving)) {
    const {snapshot, instance, volume, branch, device, received} = staged
    report.abandoned.push({snapshot: snapshot.uuid, from: `${instance}/${volume.name}/${branch}`, device, received})
    deleteEntry(draft.receiving, snapshot.uuid)
  }

  const users = snapshotUsers(draft)
  const unneeded = Object.values(draft.snapshots).filter((s) => s.device !== null && !users.has(s.uuid))
  for (const snapshot of unneeded.sort((a, b) => (a.device as number) - (b.device as number))) {
    const volume = draft.volumes[snapshot.volume].name
    const {uuid, device, origin, created} = snapshot
    report.collected.push({snapshot: uuid, volume, device: device as number, origin, created})
    snapshot.device = null
  }

  const reachable = new Set<string>()
  const visit = (start: string | null): void => {
    for (let uuid = start; uuid !== null && !reachable.has(uuid); uuid = draft.snapshots[uuid].parent) reachable.add(uuid)
  }
  for (const uuid of users.keys()) visit(uuid)
  for (const volume of Object.values(draft.volumes)) {
    for (const branch of Object.values(volume.branches)) branch.reflog.forEach((e) => visit(e.to))
    for (const logs of Object.values(volume.remoteReflogs)) Object.values(logs).forEach((reflog) => reflog.forEach((e) => visit(e.to)))
  }
  for (const uuid of Object.keys(draft.snapshots).sort()) {
    if (reachable.has(uuid)) continue
    report.forgotten.push(uuid)
    deleteEntry(draft.snapshots, uuid)
  }

  const deleted = [...report.collected, ...report.abandoned].map(({device}) => device).sort((a, b) => a - b)
  return {state: draft, plan: deleted.map((id) => ({op: 'delete', id})), result: report}
}
