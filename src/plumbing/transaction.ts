// The one way a command changes an instance: two-phase commit of the catalog with the
// pool, as LVM does with set_transaction_id. Apply the dm-thin plan in memory; prepare
// catalog N+1; set_transaction_id N -> N+1 and commit the pool; commit the catalog. A
// crash anywhere leaves the state before or after: opening reconciles the two ids.
import {randomUUID} from 'node:crypto'
import {FvmError} from '../errors.js'
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

/**
 * An operation whose pool changes are made in memory now, and committed later or
 * dropped: the expensive part (deleting a device walks its unshared mappings) runs while
 * the caller waits on something else. Nothing else may commit in between.
 */
export interface PreparedOperation<R> {
  /** What commit() will return, known before it. */
  readonly result: R
  /** The two-phase commit; returns the operation's result. */
  commit(): R
  /** Drops the pool's changes; nothing was written. */
  abandon(): void
}

/** Instances with a prepared operation not yet committed or dropped: any other commit would take its changes along. */
const preparing = new WeakSet<OpenInstance>()

export function prepareOperation<R>(instance: OpenInstance, operation: Operation<R>, ctx: InstanceContext = {home: instance.home}): PreparedOperation<R> {
  if (preparing.has(instance)) throw new FvmError('failure', 'an operation is prepared and not yet committed: nothing else may commit before it')
  const {pool, catalog} = instance
  const fire = ctx.failpoint ?? (() => {})
  const current = pool.transactionId
  const quota = instance.config.quota ?? null
  const mutation = operation({...catalog.committed().value, quota}, {now: new Date().toISOString(), newUuid: randomUUID})
  const state = {...mutation.state, quota: recordedQuota(quota, mutation.state)}
  checkCatalogInvariants(state)
  // Nothing reaches the pool's disk before its commit: a failure drops its changes.
  const undo = <T>(step: () => T): T => {
    try {
      return step()
    } catch (error) {
      pool.rollback()
      throw error
    }
  }
  undo(() => applyPlan(pool, mutation.plan))
  preparing.add(instance)
  let settled = false
  const settle = (): void => {
    if (settled) throw new FvmError('failure', 'a prepared operation was committed or dropped already')
    settled = true
    preparing.delete(instance)
  }
  return {
    result: mutation.result,
    commit() {
      settle()
      undo(() => catalog.prepare(current + 1, state))
      fire('txn.afterPrepare')
      try {
        pool.setTransactionId(current, current + 1)
      } catch (error) {
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
    },
    abandon() {
      if (settled) return
      settle()
      pool.rollback()
    },
  }
}

/**
 * Prepares the operation, then commits it once `until` resolves (the operation's own work
 * in memory overlaps what that waits for); drops it if `until` fails.
 */
export async function commitOperationAfter<R>(instance: OpenInstance, operation: Operation<R>, ctx: InstanceContext, until: () => Promise<unknown>): Promise<R> {
  const prepared = prepareOperation(instance, operation, ctx)
  try {
    await until()
  } catch (error) {
    prepared.abandon()
    throw error
  }
  return prepared.commit()
}

/** Runs one catalog operation through the two-phase commit and returns its result. */
export function commitOperation<R>(instance: OpenInstance, operation: Operation<R>, ctx: InstanceContext = {home: instance.home}): R {
  return prepareOperation(instance, operation, ctx).commit()
}

/** Opens the instance, runs one operation through the two-phase commit, closes. */
export function mutate<R>(ctx: InstanceContext, operation: Operation<R>): R {
  return withInstance(ctx, (instance) => commitOperation(instance, operation, ctx))
}
