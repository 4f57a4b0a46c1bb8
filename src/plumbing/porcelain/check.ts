// `fvm check`: the pool's metadata checked as the strict thin_check does, then the
// catalog on its own (catalogProblems) and against the pool: the transaction ids in
// step, every device the catalog names present, no device besides 0 it does not name.
// Read only: an interrupted transaction is reported, not finished.
import path from 'node:path'
import {nodeFileSystem} from '../../dm/pdata/file-io.js'
import {type CheckReport, checkMetadata} from '../../dm/thin/check.js'
import {poolPaths} from '../../dm/thin/pool-layout.js'
import {RESERVED_DEVICE_ID, ThinPool} from '../../dm/thin/thin-pool.js'
import {isFvmError} from '../../errors.js'
import {type CatalogState, catalogProblems, deviceHolders} from '../catalog/model.js'
import {CatalogStore} from '../catalog/store.js'
import {readConfig} from '../config.js'
import {POOL_DIR} from '../home-layout.js'
import {CATALOG_FILE, type InstanceContext} from '../instance-open.js'
import {lockPool} from '../pool-lock.js'

export interface InstanceCheck {
  /** No damage (leaked blocks are reported in `metadata` but are no damage). */
  ok: boolean
  /** The engine's check of the pool metadata; null when the file is missing. */
  metadata: CheckReport | null
  /** Null when the metadata is too damaged to open. */
  pool: {transactionId: number; devices: number; needsCheck: boolean} | null
  /** Null when the catalog is missing or unreadable. */
  catalog: {
    transactionId: number
    /** An interrupted transaction, and what the next command does with it. */
    interrupted: {transactionId: number; outcome: 'roll-forward' | 'abort'} | null
    volumes: number
    snapshots: number
  } | null
  /** Devices the catalog names that the pool lacks. */
  missingDevices: number[]
  /** Devices besides 0 the pool holds that the catalog does not name. */
  orphanDevices: number[]
  /** Everything wrong, in words. */
  problems: string[]
}

export function checkInstance(o: InstanceContext): InstanceCheck {
  readConfig(o.home)
  const poolDir = path.join(o.home, POOL_DIR)
  const release = lockPool(poolDir, o.fs)
  try {
    return checkPoolDir(poolDir, o)
  } finally {
    release()
  }
}

function checkPoolDir(poolDir: string, o: InstanceContext): InstanceCheck {
  const fs = o.fs ?? nodeFileSystem
  const result: InstanceCheck = {ok: false, metadata: null, pool: null, catalog: null, missingDevices: [], orphanDevices: [], problems: []}
  const done = (): InstanceCheck => ({...result, ok: result.problems.length === 0})
  const {metadata} = poolPaths(poolDir)
  if (!fs.exists(metadata)) {
    result.problems.push(`pool metadata "${metadata}" is missing`)
    return done()
  }
  result.metadata = checkMetadata(metadata, {fs})
  if (!result.metadata.ok) {
    const {fatal, issues} = result.metadata
    result.problems.push(`pool metadata: ${fatal} error(s)`, ...issues.filter((i) => i.fatal).map((i) => `pool metadata: ${i.message}`))
    return done()
  }
  const pool = ThinPool.open(poolDir, {fs, readOnly: true, allowNeedsCheck: true})
  try {
    const {needsCheck} = pool.status()
    const devices = pool.devices()
    result.pool = {transactionId: pool.transactionId, devices: devices.length, needsCheck}
    if (needsCheck) result.problems.push('pool metadata has its needs_check flag set (the kernel found an error)')
    const catalogFile = path.join(poolDir, CATALOG_FILE)
    if (!fs.exists(catalogFile)) {
      // As the next open decides: only a freshly formatted pool may get a new catalog.
      if (pool.transactionId !== 0 || devices.some((id) => id !== RESERVED_DEVICE_ID)) {
        result.problems.push(`catalog "${catalogFile}" is missing but the pool holds devices`)
      }
      return done()
    }
    const state = catalogAgainstPool(catalogFile, pool.transactionId, o, result)
    if (state) compareDevices(state, devices, result)
    return done()
  } finally {
    pool.close()
  }
}

/** The catalog state the next open would settle on, recorded in `result`; undefined if there is none to compare. */
function catalogAgainstPool(file: string, poolTxid: number, o: InstanceContext, result: InstanceCheck): CatalogState | undefined {
  let store: CatalogStore<CatalogState>
  try {
    store = CatalogStore.open<CatalogState>(file, {fs: o.fs})
  } catch (error) {
    if (!isFvmError(error) || error.kind !== 'corrupt') throw error
    result.problems.push(error.message)
    return undefined
  }
  try {
    const committed = store.committed()
    const prepared = store.prepared()
    let record = committed
    let outcome: 'roll-forward' | 'abort' | null = null
    if (prepared && prepared.txid === poolTxid) [record, outcome] = [prepared, 'roll-forward']
    else if (prepared && committed.txid === poolTxid) outcome = 'abort'
    else if (committed.txid !== poolTxid) {
      const catalog = prepared ? `${committed.txid} (${prepared.txid} prepared)` : `${committed.txid}`
      result.problems.push(`catalog transaction ${catalog} does not match the pool's transaction ${poolTxid}`)
    }
    const interrupted = prepared && outcome ? {transactionId: prepared.txid, outcome} : null
    const [volumes, snapshots] = [countOf(record.value, 'volumes'), countOf(record.value, 'snapshots')]
    result.catalog = {transactionId: committed.txid, interrupted, volumes, snapshots}
    const problems = catalogProblems(record.value)
    result.problems.push(...problems.map((p) => `catalog: ${p}`))
    return problems.length === 0 ? record.value : undefined
  } finally {
    store.close()
  }
}

/** How many records the catalog holds under `key`, read with care: the value may be malformed. */
function countOf(value: unknown, key: 'volumes' | 'snapshots'): number {
  const records = (value as Partial<Record<typeof key, unknown>> | null)?.[key]
  return typeof records === 'object' && records !== null ? Object.keys(records).length : 0
}

function compareDevices(state: CatalogState, devices: number[], result: InstanceCheck): void {
  const holders = deviceHolders(state)
  const present = new Set(devices)
  for (const [device, holder] of [...holders].sort(([a], [b]) => a - b)) {
    if (present.has(device)) continue
    result.missingDevices.push(device)
    result.problems.push(`device ${device} of ${holder} is missing from the pool`)
  }
  for (const device of devices) {
    if (device === RESERVED_DEVICE_ID || holders.has(device)) continue
    result.orphanDevices.push(device)
    result.problems.push(`device ${device} is in the pool but the catalog does not name it`)
  }
}
