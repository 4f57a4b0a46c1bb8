// Branches for the porcelain: list, create, remove, rename. References are parsed
// before the instance is opened (syntax only; existence is the catalog's question).
import {isUuid} from '../catalog/model.js'
import {type BranchSummary, type RemoteBranchSummary, listBranches, listRemoteBranches} from '../catalog/ops-lookups.js'
import {
  type CreateBranchResult,
  type RemoveBranchResult,
  createBranch,
  removeBranch,
  renameBranch,
} from '../catalog/ops-branches.js'
import {type InstanceContext, withInstance} from '../instance-open.js'
import {checkName} from '../names.js'
import {mutate} from '../transaction.js'
import {checkRef} from './entry.js'

/** Every remote branch (what other instances pushed or this one fetched), by volume then name. */
export function remoteBranchList(o: InstanceContext): RemoteBranchSummary[] {
  return withInstance(o, ({catalog}) => listRemoteBranches(catalog.committed().value))
}

/** Every local branch, by volume then name; of one volume when `volume` is given. */
export function branchList(o: InstanceContext & {volume?: string}): BranchSummary[] {
  if (o.volume !== undefined) checkName('volume', o.volume)
  return withInstance(o, ({catalog}) => listBranches(catalog.committed().value, o.volume))
}

export interface BranchCreateOptions extends InstanceContext {
  /** VOLUME/BRANCH */
  branch: string
  /**
   * A branch, remote branch or tag of the same volume (a bare TAG is one of it), or the
   * uuid of one of its snapshots that still has its device (a reflog's kept state); default its trunk.
   */
  from?: string
}

export function branchCreate(o: BranchCreateOptions): CreateBranchResult {
  const target = checkRef(o.branch, ['branch'])
  if (o.from !== undefined && !isUuid(o.from)) checkRef(o.from, ['branch', 'remote-branch', 'tag'], target.volume)
  return mutate(o, (state, context) => createBranch(state, {branch: o.branch, from: o.from}, context))
}

export function branchRemove(o: InstanceContext & {branch: string}): RemoveBranchResult {
  checkRef(o.branch, ['branch'])
  return mutate(o, (state) => removeBranch(state, {branch: o.branch}))
}

export function branchRename(o: InstanceContext & {branch: string; to: string}): {from: string; to: string} {
  checkRef(o.branch, ['branch'])
  checkName('branch', o.to)
  return mutate(o, (state) => renameBranch(state, {branch: o.branch, to: o.to}))
}
