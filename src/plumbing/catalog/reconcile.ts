// Recovery of the two-phase commit with the pool (prepare catalog N+1, pool commit
// with set_transaction_id N -> N+1, commit catalog): after a crash the pool's
// transaction id says whether phase two happened, so it decides the prepared record's fate.
import {FvmError} from '../../errors.js'
import type {CatalogStore} from './store.js'

export type ReconcileOutcome = 'clean' | 'rolledForward' | 'aborted'

/** Brings the catalog to the pool's transaction id, or throws `corrupt` if it cannot. */
export function reconcile<T>(store: CatalogStore<T>, poolTransactionId: number): ReconcileOutcome {
  const committed = store.committed().txid
  const prepared = store.prepared()?.txid
  if (prepared === undefined && poolTransactionId === committed) return 'clean'
  if (prepared !== undefined && poolTransactionId === prepared) {
    store.commit()
    return 'rolledForward'
  }
  if (prepared !== undefined && poolTransactionId === committed) {
    store.abort()
    return 'aborted'
  }
  const catalog = prepared === undefined ? `${committed}` : `${committed} (${prepared} prepared)`
  throw new FvmError(
    'corrupt',
    `catalog "${store.path}": its transaction ${catalog} does not match the pool's transaction ${poolTransactionId}`,
    {hint: 'run "fvm check"'},
  )
}
