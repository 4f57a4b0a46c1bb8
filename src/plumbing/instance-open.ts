// Opening an instance for a command: its lock, its pool and its catalog, brought into
// step. Whatever an interrupted `fvm init` left undone is finished first (the pool,
// then the catalog), and an interrupted transaction is rolled forward or back.
import path from 'node:path'
import type {FileSystem} from '../dm/pdata/file-io.js'
import {nodeFileSystem} from '../dm/pdata/file-io.js'
import {poolPaths} from '../dm/thin/pool-layout.js'
import {ThinPool} from '../dm/thin/thin-pool.js'
import {FvmError} from '../errors.js'
import {type CatalogState, checkCatalogInvariants, newCatalogState} from './catalog/model.js'
import {type ReconcileOutcome, reconcile} from './catalog/reconcile.js'
import {CatalogStore} from './catalog/store.js'
import {type InstanceConfig, POOL_DIR, readConfig} from './config.js'
import {lockPool} from './pool-lock.js'

export const CATALOG_FILE = 'catalog'

export interface InstanceContext {
  home: string
  fs?: FileSystem
  /** Named crash points of every layer (engine, catalog, transaction), for tests. */
  failpoint?: (name: string) => void
}

export interface OpenInstance {
  home: string
  config: InstanceConfig
  pool: ThinPool
  catalog: CatalogStore<CatalogState>
  /** What opening did to an interrupted transaction. */
  recovered: ReconcileOutcome
}

function finishInit(poolDir: string, config: InstanceConfig, ctx: InstanceContext): void {
  const fs = ctx.fs ?? nodeFileSystem
  if (!fs.exists(poolPaths(poolDir).metadata)) {
    ThinPool.format(poolDir, {dataBlocks: config.pool.size / config.pool.blockSize, dataBlockSize: config.pool.blockSize, fs, failpoint: ctx.failpoint}).close()
  }
  const catalogFile = path.join(poolDir, CATALOG_FILE)
  if (fs.exists(catalogFile)) return
  const pool = ThinPool.open(poolDir, {fs, readOnly: true})
  try {
    // Only a pool init just formatted may get a fresh catalog: anything else would lose
    // the names of devices the pool holds.
    if (pool.transactionId !== 0 || pool.devices().some((id) => id !== 0)) {
      throw new FvmError('corrupt', `instance "${config.name}": pool has devices but "${catalogFile}" is missing`, {hint: 'run "fvm check"'})
    }
  } finally {
    pool.close()
  }
  CatalogStore.create(catalogFile, newCatalogState({instance: {uuid: config.uuid, name: config.name}}), 0, {fs, failpoint: ctx.failpoint}).close()
}

/** Runs fn with the instance open and consistent, holding its lock; always closes. */
export function withInstance<R>(ctx: InstanceContext, fn: (instance: OpenInstance) => R): R {
  const config = readConfig(ctx.home)
  const poolDir = path.join(ctx.home, POOL_DIR)
  const release = lockPool(poolDir, ctx.fs)
  try {
    finishInit(poolDir, config, ctx)
    const pool = ThinPool.open(poolDir, {fs: ctx.fs, failpoint: ctx.failpoint})
    try {
      const catalog = CatalogStore.open<CatalogState>(path.join(poolDir, CATALOG_FILE), {fs: ctx.fs, failpoint: ctx.failpoint})
      try {
        const recovered = reconcile(catalog, pool.transactionId)
        checkCatalogInvariants(catalog.committed().value)
        return fn({home: ctx.home, config, pool, catalog, recovered})
      } finally {
        catalog.close()
      }
    } finally {
      pool.close()
    }
  } finally {
    release()
  }
}
