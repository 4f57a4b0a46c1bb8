// Rolling a branch back to a tag, and undoing that. Nothing is lost either way: what
// the branch held is kept as a hidden snapshot its reflog names, so undo restores it.
import {type RollbackResult, rollback, rollbackUndo} from '../catalog/ops-rollback.js'
import type {InstanceContext} from '../instance-open.js'
import {mutate} from '../transaction.js'
import {checkRef} from './entry.js'

export interface RollbackOptions extends InstanceContext {
  /** VOLUME/BRANCH */
  branch: string
  /** TAG (of the branch's volume) or TAG@VOLUME. */
  tag: string
}

export function rollbackBranch(o: RollbackOptions): RollbackResult {
  const branch = checkRef(o.branch, ['branch'])
  checkRef(o.tag, ['tag'], branch.volume)
  return mutate(o, (state, context) => rollback(state, {branch: o.branch, tag: o.tag}, context))
}

export function undoRollback(o: InstanceContext & {branch: string}): RollbackResult {
  checkRef(o.branch, ['branch'])
  return mutate(o, (state, context) => rollbackUndo(state, {branch: o.branch}, context))
}
