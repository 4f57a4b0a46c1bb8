// The instance at a glance: pool space, transaction ids, quota, and health. A healthy
// instance is opened as every command opens it (an interrupted transaction is finished,
// and `recovered` says how); one that cannot be opened is read as it is, so status still
// shows what is wrong (ids that disagree, needs_check) instead of only failing.
import path from 'node:path'
import {ThinPool} from '../../dm/thin/thin-pool.js'
import {FvmError, isFvmError} from '../../errors.js'
import type {CatalogState} from '../catalog/model.js'
import {usedBytes} from '../catalog/ops-shared.js'
import type {ReconcileOutcome} from '../catalog/reconcile.js'
import {CatalogStore} from '../catalog/store.js'
import {type InstanceConfig, readConfig} from '../config.js'
import {POOL_DIR} from '../home-layout.js'
import {CATALOG_FILE, type InstanceContext, withInstance} from '../instance-open.js'
import {lockPool} from '../pool-lock.js'

export interface StatusReport {
  instance: {name: string; uuid: string; home: string}
  pool: {
    transactionId: number
    dataBlockSize: number
    usedDataBlocks: number
    totalDataBlocks: number
    usedMetadataBlocks: number
    totalMetadataBlocks: number
  }
  catalog: {
    transactionId: number
    /** An interrupted transaction's id; always null once the instance opened. */
    prepared: number | null
    volumes: number
    /** The volumes' virtual sizes added up: what the quota limits. */
    addressedBytes: number
  }
  /** From fvm.yaml; null: no limit. */
  quota: number | null
  health: {
    ok: boolean
    /** The catalog's transaction is the pool's, or an interrupted one the next open finishes. */
    idsAgree: boolean
    needsCheck: boolean
    /** What opening did to an interrupted transaction; null when the instance could not be opened. */
    recovered: ReconcileOutcome | null
    /** Why the instance could not be opened. */
    problem: string | null
  }
}

interface Parts {
  config: InstanceConfig
  pool: ThinPool
  catalog: CatalogStore<CatalogState>
}

function report(o: InstanceContext, {config, pool, catalog}: Parts, health: StatusReport['health']): StatusReport {
  const {transactionId, usedDataBlocks, totalDataBlocks, usedMetadataBlocks, totalMetadataBlocks} = pool.status()
  const committed = catalog.committed()
  return {
    instance: {name: config.name, uuid: config.uuid, home: o.home},
    pool: {transactionId, dataBlockSize: pool.dataBlockSize, usedDataBlocks, totalDataBlocks, usedMetadataBlocks, totalMetadataBlocks},
    catalog: {
      transactionId: committed.txid,
      prepared: catalog.prepared()?.txid ?? null,
      volumes: Object.keys(committed.value.volumes).length,
      addressedBytes: usedBytes(committed.value),
    },
    quota: config.quota ?? null,
    health,
  }
}

export function instanceStatus(o: InstanceContext): StatusReport {
  try {
    return withInstance(o, (instance) =>
      report(o, instance, {ok: true, idsAgree: true, needsCheck: false, recovered: instance.recovered, problem: null}),
    )
  } catch (error) {
    if (!isFvmError(error) || error.kind !== 'corrupt') throw error
    return unopenable(o, error)
  }
}

/** Reads pool and catalog as they are, changing nothing; if even that fails, the first failure stands. */
function unopenable(o: InstanceContext, failure: FvmError): StatusReport {
  let config: InstanceConfig
  try {
    config = readConfig(o.home)
  } catch {
    throw failure
  }
  const poolDir = path.join(o.home, POOL_DIR)
  const release = lockPool(poolDir, o.fs)
  try {
    const pool = ThinPool.open(poolDir, {fs: o.fs, readOnly: true, allowNeedsCheck: true})
    try {
      const catalog = CatalogStore.open<CatalogState>(path.join(poolDir, CATALOG_FILE), {fs: o.fs})
      try {
        const idsAgree = [catalog.committed().txid, catalog.prepared()?.txid].includes(pool.transactionId)
        return report(o, {config, pool, catalog}, {ok: false, idsAgree, needsCheck: pool.status().needsCheck, recovered: null, problem: failure.message})
      } finally {
        catalog.close()
      }
    } finally {
      pool.close()
    }
  } catch {
    throw failure
  } finally {
    release()
  }
}
