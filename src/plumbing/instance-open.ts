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
import {type InstanceConfig, readConfig} from './config.js'
import {POOL_DIR} from './home-layout.js'
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

/** Opens the instance, consistent and locked; `close` closes it and releases the lock. */
function openInstance(ctx: InstanceContext): {instance: OpenInstance; close: () => void} {
  const config = readConfig(ctx.home)
  const poolDir = path.join(ctx.home, POOL_DIR)
  const release = lockPool(poolDir, ctx.fs)
  const closers: Array<() => void> = [release]
  const close = (): void => {
    // Innermost first; each runs even if a later one throws.
    for (const closer of closers.splice(0).reverse()) {
      try {
        closer()
      } catch {
        // Closing a read-only view or a released lock cannot lose data; the first error wins.
      }
    }
  }
  try {
    finishInit(poolDir, config, ctx)
    const pool = ThinPool.open(poolDir, {fs: ctx.fs, failpoint: ctx.failpoint})
    closers.push(() => pool.close())
    const catalog = CatalogStore.open<CatalogState>(path.join(poolDir, CATALOG_FILE), {fs: ctx.fs, failpoint: ctx.failpoint})
    closers.push(() => catalog.close())
    const recovered = reconcile(catalog, pool.transactionId)
    checkCatalogInvariants(catalog.committed().value)
    return {instance: {home: ctx.home, config, pool, catalog, recovered}, close}
  } catch (error) {
    close()
    throw error
  }
}

/** Runs fn with the instance open and consistent, holding its lock; always closes. */
export function withInstance<R>(ctx: InstanceContext, fn: (instance: OpenInstance) => R): R {
  const {instance, close} = openInstance(ctx)
  try {
    return fn(instance)
  } finally {
    close()
  }
}

/** withInstance for work that waits on I/O (a transfer): the lock is held until fn's promise settles. */
export async function withInstanceAsync<R>(ctx: InstanceContext, fn: (instance: OpenInstance) => Promise<R>): Promise<R> {
  const {instance, close} = openInstance(ctx)
  try {
    return await fn(instance)
  } finally {
    close()
  }
}
