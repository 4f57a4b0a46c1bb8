// Rollback and its undo. Neither copies nor deletes anything: the branch's current
// device becomes a hidden snapshot (its content, displaced), recorded in the reflog, and
// the branch goes on in a new snapshot of the tag (or, for undo, of what the last
// rollback displaced). The displaced snapshot is never written afterwards, so it stays
// a true point in time: a delta base, and restorable again and again.
import {FvmError} from '../../errors.js'
import type {Branch, CatalogState, Volume} from './model.js'
import {
  type Materialised,
  type Mutation,
  type OpContext,
  addSnapshot,
  draftOf,
  findBranch,
  findTag,
  materialised,
  parseIn,
  takeDeviceIds,
} from './ops-shared.js'

export interface RollbackResult {
  branch: string
  /** What the branch now starts from: the tag, or for undo the restored snapshot. */
  to: string
  device: number
  /** The snapshot holding the content the branch had; the undo (`rollbackUndo` of `branch`) restores it. */
  displaced: string
}

/** The branch's content becomes the tag's (`TAG` alone means a tag of the branch's volume). */
export function rollback(state: CatalogState, request: {branch: string; tag: string}, context: OpContext): Mutation<RollbackResult> {
  const draft = draftOf(state)
  const {volume, branch} = findBranch(draft, parseIn(draft, request.branch, ['branch']))
  const ref = parseIn(draft, request.tag, ['tag'], volume.name)
  if (ref.volume !== volume.name) {
    const name = `${volume.name}/${branch.name}`
    throw new FvmError('usage', `cannot roll "${name}" back to "${ref.tag}@${ref.volume}": the tag is in another volume`)
  }
  const {snapshot: tag} = findTag(draft, ref)
  return restart(draft, context, volume, branch, tag, 'rollback')
}

/**
 * Restores what the newest rollback (or undo) displaced; the content it replaces is
 * displaced in turn, so undoing again redoes.
 */
export function rollbackUndo(state: CatalogState, request: {branch: string}, context: OpContext): Mutation<RollbackResult> {
  const draft = draftOf(state)
  const {volume, branch} = findBranch(draft, parseIn(draft, request.branch, ['branch']))
  const last = branch.reflog.at(0)
  if (!last || last.displaced === null) {
    throw new FvmError('conflict', `branch "${volume.name}/${branch.name}" has no rollback to undo`)
  }
  return restart(draft, context, volume, branch, materialised(draft, last.displaced), 'rollback-undo')
}

function restart(
  draft: CatalogState,
  context: OpContext,
  volume: Volume,
  branch: Branch,
  from: Materialised,
  action: 'rollback' | 'rollback-undo',
): Mutation<RollbackResult> {
  const [device] = takeDeviceIds(draft, 1)
  const displaced = addSnapshot(draft, context, {
    volume,
    parent: branch.base,
    device: branch.device,
    origin: {kind: 'displaced', branch: branch.name, by: action},
  })
  branch.device = device
  branch.base = from.uuid
  branch.reflog.unshift({action, time: context.now, to: from.uuid, displaced: displaced.uuid})
  return {
    state: draft,
    plan: [{op: 'create_snap', id: device, origin: from.device}],
    result: {branch: `${volume.name}/${branch.name}`, to: from.uuid, device, displaced: displaced.uuid},
  }
}
