// Garbage collection: delete the devices of snapshots nothing needs any more, expire
// old reflog entries, forget unreachable snapshot records. Nothing to do changes
// nothing (no transaction is spent on it).
import {type GcReport, gc, planGc} from '../catalog/ops-gc.js'
import {type InstanceContext, withInstance} from '../instance-open.js'
import {commitOperation} from '../transaction.js'

export interface GcResult extends GcReport {
  dryRun: boolean
}

export function collectGarbage(o: InstanceContext & {dryRun?: boolean}): GcResult {
  const dryRun = o.dryRun ?? false
  return withInstance(o, (instance) => {
    const plan = planGc(instance.catalog.committed().value)
    const idle = plan.collected.length === 0 && plan.expired.length === 0 && plan.forgotten.length === 0
    if (dryRun || idle) return {dryRun, ...plan}
    return {dryRun, ...commitOperation(instance, (state) => gc(state), o)}
  })
}
