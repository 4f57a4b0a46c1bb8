// Volume I/O plumbing: a thin device's bytes in and out by device id, streamed in
// bounded memory, under the pool's lock. A write or discard is one commit: all of it
// or, on failure, no new mapping at all.
import {ThinPool} from '../dm/thin/thin-pool.js'
import {type DiscardSummary, discardVolume, readVolumeStream, writeVolumeStream, type WriteSummary} from '../dm/thin/volume-io.js'
import {lockExistingPool, type PoolOptions, withPool} from './pool.js'

export interface ThinWriteReport extends WriteSummary {
  id: number
  offset: number
}

export interface ThinReadReport {
  id: number
  offset: number
  length: number
  bytesRead: number
}

export interface ThinDiscardReport extends DiscardSummary {
  id: number
  offset: number
  length: number
}

/** Writes what input yields at offset (exactly length bytes if given) and commits. */
export async function writeThin(
  o: PoolOptions & {id: number, offset: number, length?: number, input: AsyncIterable<Uint8Array>},
): Promise<ThinWriteReport> {
  return withPoolAsync(o, false, async (pool) => {
    const summary = await writeVolumeStream(pool, o.id, o.offset, o.input, o.length)
    return {id: o.id, offset: o.offset, ...summary}
  })
}

/** Streams [offset, offset + length) to output, one chunk in flight (the reader reuses its buffer). */
export async function readThin(o: PoolOptions & {id: number, offset: number, length: number, output: NodeJS.WritableStream}): Promise<ThinReadReport> {
  return withPoolAsync(o, true, async (pool) => {
    let bytesRead = 0
    for (const chunk of readVolumeStream(pool, o.id, o.offset, o.length)) {
      bytesRead += chunk.length
      await written(o.output, chunk)
    }
    return {id: o.id, offset: o.offset, length: o.length, bytesRead}
  })
}

/** Makes [offset, offset + length) read as zeros, freeing the whole blocks in it, and commits. */
export function discardThin(o: PoolOptions & {id: number, offset: number, length: number}): ThinDiscardReport {
  return withPool(o, (pool) => ({id: o.id, offset: o.offset, length: o.length, ...discardVolume(pool, o.id, o.offset, o.length)}))
}

/** Resolves once output is done with chunk; rejects if it fails first. */
function written(output: NodeJS.WritableStream, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    output.once('error', reject)
    output.write(chunk, (error) => {
      output.off('error', reject)
      if (error) reject(error)
      else resolve()
    })
  })
}

/** withPool for operations that wait on streams: the lock and the pool stay held until fn settles. */
async function withPoolAsync<T>(o: PoolOptions, readOnly: boolean, fn: (pool: ThinPool) => Promise<T>): Promise<T> {
  const release = lockExistingPool(o)
  try {
    const pool = ThinPool.open(o.pool, {fs: o.fs, failpoint: o.failpoint, readOnly})
    try {
      const result = await fn(pool)
      if (!readOnly) pool.commit()
      return result
    } finally {
      pool.close()
    }
  } finally {
    release()
  }
}
