// The one way a command changes an instance: two-phase commit of the catalog with the
// pool, as LVM does with set_transaction_id. Prepare catalog N+1; apply the dm-thin
// plan and set_transaction_id N -> N+1 in one pool commit; commit the catalog. A crash
// anywhere leaves the state before or after: opening reconciles the two ids.
import {randomUUID} from 'node:crypto'
import type {CatalogState} from './catalog/model.js'
import {checkCatalogInvariants} from './catalog/model.js'
import {type DmOp, type Mutation, type OpContext, usedBytes} from './catalog/ops-shared.js'
import type {ThinPool} from '../dm/thin/thin-pool.js'
import {type InstanceContext, type OpenInstance, withInstance} from './instance-open.js'

export const TRANSACTION_FAILPOINTS = ['txn.afterPrepare', 'txn.afterPoolCommit'] as const

export type Operation<R> = (state: CatalogState, context: OpContext) => Mutation<R>

function applyPlan(pool: ThinPool, plan: DmOp[]): void {
  for (const step of plan) {
    if (step.op === 'create_thin') pool.createThin(step.id)
    else if (step.op === 'create_snap') pool.createSnap(step.id, step.origin)
    else pool.delete(step.id)
  }
}

/**
 * fvm.yaml is where the quota is set, so operations see that one. A quota lowered below
 * what the volumes already address refuses growth (the operation saw it) but must not
 * refuse removals: the record keeps the larger of the two, as the catalog's invariant
 * (volumes address at most the quota) requires.
 */
function recordedQuota(quota: number | null, state: CatalogState): number | null {
  return quota === null ? null : Math.max(quota, usedBytes(state))
}

/** Runs one catalog operation through the two-phase commit and returns its result. */
export function commitOperation<R>(instance: OpenInstance, operation: Operation<R>, ctx: InstanceContext = {home: instance.home}): R {
  const {pool, catalog} = instance
  const fire = ctx.failpoint ?? (() => {})
  const current = pool.transactionId
  const quota = instance.config.quota ?? null
  const mutation = operation({...catalog.committed().value, quota}, {now: new Date().toISOString(), newUuid: randomUUID})
  const state = {...mutation.state, quota: recordedQuota(quota, mutation.state)}
  checkCatalogInvariants(state)
  catalog.prepare(current + 1, state)
  fire('txn.afterPrepare')
  try {
    applyPlan(pool, mutation.plan)
    pool.setTransactionId(current, current + 1)
  } catch (error) {
    // Nothing reached the pool's disk: drop the pool's changes and the prepared record.
    pool.rollback()
    catalog.abort()
    throw error
  }
  // A failed commit may or may not have reached the superblock: the prepared record
  // stays, and the next open reconciles it with whatever the pool says.
  pool.commit()
  fire('txn.afterPoolCommit')
  catalog.commit()
  return mutation.result
}

/** Opens the instance, runs one operation through the two-phase commit, closes. */
export function mutate<R>(ctx: InstanceContext, operation: Operation<R>): R {
  return withInstance(ctx, (instance) => commitOperation(instance, operation, ctx))
}
