// thin_dump-compatible XML in and out of a pool directory.
import fs from 'node:fs'
import path from 'node:path'
import {poolPaths} from '../dm/thin/pool-layout.js'
import {ThinPool} from '../dm/thin/thin-pool.js'
import {dumpPool} from '../dm/thin/xml-dump.js'
import {MetadataXmlWriter, type TextSink} from '../dm/thin/xml-emit.js'
import {type RestoreSummary, restorePoolFromXml} from '../dm/thin/xml-restore.js'
import {FvmError} from '../errors.js'
import {type PoolOptions, type PoolReport, poolStatus, withPoolLock} from './pool.js'
import {lockPool} from './pool-lock.js'
import {mkdirPrivate} from './private-files.js'

const CHUNK_BYTES = 1 << 20

/** Reads a file (or stdin, fd 0) in large chunks, synchronously, reusing one buffer. */
function* fileChunks(fd: number): Generator<Uint8Array> {
  const buf = Buffer.allocUnsafe(CHUNK_BYTES)
  for (;;) {
    let n: number
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue
      if ((error as NodeJS.ErrnoException).code === 'EOF') return
      throw error
    }
    if (n === 0) return
    yield buf.subarray(0, n)
  }
}

function openInput(input: string): number {
  if (input === '-') return 0
  try {
    return fs.openSync(input, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new FvmError('notFound', `no such file "${input}"`)
    throw error
  }
}

export interface RestoreReport extends PoolReport {
  restored: RestoreSummary
}

/**
 * Restores a new pool from XML ('-' for stdin). The pool is built in a staging folder
 * inside the pool directory and its files move into place only when complete (data
 * first, metadata last), so a failed restore leaves no pool behind.
 */
export function restorePool(o: PoolOptions & {input: string}): RestoreReport {
  const target = poolPaths(o.pool)
  const fd = openInput(o.input)
  mkdirPrivate(o.pool)
  const release = lockPool(o.pool, o.fs)
  const staging = path.join(o.pool, `.restore-${process.pid}`)
  let restored: RestoreSummary
  try {
    if (fs.existsSync(target.metadata) || fs.existsSync(target.data)) {
      throw new FvmError('conflict', `pool "${o.pool}" already exists`, {hint: 'restore into a new directory'})
    }
    mkdirPrivate(staging)
    restored = restorePoolFromXml(staging, fileChunks(fd), {fs: o.fs, failpoint: o.failpoint})
    const staged = poolPaths(staging)
    fs.renameSync(staged.data, target.data)
    fs.renameSync(staged.metadata, target.metadata)
  } finally {
    if (fd !== 0) fs.closeSync(fd)
    fs.rmSync(staging, {recursive: true, force: true})
    release()
  }
  return {...poolStatus(o), restored}
}

/** Writes the pool's metadata as thin_dump 0.9 prints it. */
export function dumpPoolXml(o: PoolOptions, sink: TextSink): void {
  withPoolLock(o, () => {
    const pool = ThinPool.open(o.pool, {fs: o.fs, readOnly: true, allowNeedsCheck: true})
    try {
      dumpPool(pool, new MetadataXmlWriter(sink))
    } finally {
      pool.close()
    }
  })
}
