// Pool-level plumbing: format, status and the transaction id, on any pool directory
// (the two files "metadata" and "data"), passed in explicitly.
import fs from 'node:fs'
import type {Failpoint} from '../dm/pdata/failpoints.js'
import type {FileSystem} from '../dm/pdata/file-io.js'
import {type CheckReport, checkMetadata} from '../dm/thin/check.js'
import {poolPaths} from '../dm/thin/pool-layout.js'
import {type PoolStatus, ThinPool} from '../dm/thin/thin-pool.js'
import {FvmError} from '../errors.js'
import {lockPool} from './pool-lock.js'
import {mkdirPrivate} from './private-files.js'

export interface PoolOptions {
  pool: string
  fs?: FileSystem
  failpoint?: Failpoint
}

export interface PoolReport extends Omit<PoolStatus, 'heldRoot' | 'readOnly'> {
  pool: string
  dataBlockSize: number
  devices: number
  /** Block of the held metadata snapshot, or null. */
  heldRoot: number | null
}

/**
 * Takes the lock of an existing pool (readers too: a writer may reuse blocks a reader
 * still sees); returns the release function.
 */
export function lockExistingPool(o: PoolOptions): () => void {
  if (!fs.existsSync(poolPaths(o.pool).metadata)) throw new FvmError('notFound', `no pool at "${o.pool}"`)
  return lockPool(o.pool, o.fs)
}

/** Runs fn holding the pool's lock. */
export function withPoolLock<T>(o: PoolOptions, fn: () => T): T {
  const release = lockExistingPool(o)
  try {
    return fn()
  } finally {
    release()
  }
}

/** Opens the pool under its lock, runs fn, commits what it changed, and always closes. */
export function withPool<T>(o: PoolOptions, fn: (pool: ThinPool) => T, readOnly = false): T {
  return withPoolLock(o, () => {
    const pool = ThinPool.open(o.pool, {fs: o.fs, failpoint: o.failpoint, readOnly})
    try {
      const result = fn(pool)
      if (!readOnly) pool.commit()
      return result
    } finally {
      pool.close()
    }
  })
}

function report(pool: ThinPool): PoolReport {
  // readOnly describes how this call opened the pool, not the pool: left out.
  const {heldRoot, readOnly: _, ...status} = pool.status()
  return {pool: pool.dir, dataBlockSize: pool.dataBlockSize, devices: pool.devices().length, ...status, heldRoot: heldRoot ?? null}
}

export function formatPool(o: PoolOptions & {dataBlocks: number, dataBlockSize?: number}): PoolReport {
  mkdirPrivate(o.pool)
  const release = lockPool(o.pool, o.fs)
  try {
    const pool = ThinPool.format(o.pool, {dataBlocks: o.dataBlocks, dataBlockSize: o.dataBlockSize, fs: o.fs, failpoint: o.failpoint})
    try {
      return report(pool)
    } finally {
      pool.close()
    }
  } finally {
    release()
  }
}

export function poolStatus(o: PoolOptions): PoolReport {
  return withPool(o, report, true)
}

export function setPoolTransactionId(o: PoolOptions & {current: number, next: number}): PoolReport {
  return withPool(o, (pool) => {
    pool.setTransactionId(o.current, o.next)
    pool.commit()
    return report(pool)
  })
}

/** Parses a decimal integer argument (device id, transaction id, block count). */
export function parseCount(text: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text)) throw new FvmError('usage', `invalid ${what} "${text}": not a non-negative integer`)
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value > max) throw new FvmError('usage', `invalid ${what} "${text}": at most ${max}`)
  return value
}

export interface PoolCheckReport extends CheckReport {
  pool: string
}

/** Verifies the metadata as the strict thin_check does; `ok` is false only for real damage (leaks are not). */
export function checkPool(o: PoolOptions & {maxIssues?: number}): PoolCheckReport {
  return withPoolLock(o, () => ({pool: o.pool, ...checkMetadata(poolPaths(o.pool).metadata, {fs: o.fs, maxIssues: o.maxIssues})}))
}
