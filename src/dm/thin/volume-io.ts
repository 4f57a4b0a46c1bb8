// Volume I/O on an open pool: a thin device's bytes, read, written and discarded at any
// byte offset and length, as the kernel's thin target serves bios. Unmapped ranges read
// as zeros. Nothing here commits: the caller decides what one transaction holds.
//
// A write or discard that fails (out of data or metadata space, a short input, an I/O
// error) rolls the pool back to its last commit, as a failed pool operation does, so no
// mapping it made survives. Bytes it wrote in place into blocks that were already
// mapped and unshared stay written, as on a disk: those are not transactional in the
// kernel either. A write with copyAlways writes no block in place, so a rollback of its
// transaction restores the content too.
//
// Discard has hole-punching semantics: every byte of the range reads as zero after it.
// Whole blocks in the range are unmapped (their data blocks freed when no other device
// maps them); the partly covered blocks at its two ends stay mapped and have the
// covered bytes zeroed, which copies them first if they are shared.
import {FvmError} from '../../errors.js'
import type {Mapping, ThinPool} from './thin-pool.js'
import {checkRange, IO_CHUNK, pageAlignedBuffer, readData, zeroChunk} from './volume-range.js'
import {VolumeWriter, type WriteOptions, type WriteSummary} from './volume-writer.js'

export type {WriteOptions, WriteSummary} from './volume-writer.js'

export interface DiscardSummary {
  /** Whole blocks unmapped. */
  blocksUnmapped: number
  /** Of those, data blocks no other device maps, now free. */
  blocksFreed: number
  /** Bytes zeroed in the partly covered mapped blocks at the ends of the range. */
  bytesZeroed: number
}

/** Mappings unmapped per walk of the tree (a change ends a walk). */
const DISCARD_BATCH = 4096

/** Writes bytes at offset. */
export function writeVolume(pool: ThinPool, id: number, offset: number, bytes: Uint8Array, options?: WriteOptions): WriteSummary {
  checkRange(offset, bytes.length)
  const writer = new VolumeWriter(pool, id, offset, options)
  return undoOnFailure(pool, () => {
    writer.write(bytes)
    return writer.finish()
  })
}

/**
 * Writes everything the source yields from offset on, in bounded memory whatever its
 * size. With a length, exactly that many bytes: a shorter source fails, a longer one is
 * read no further. Each chunk is written (or copied) before the next is asked for, so a
 * source may reuse its buffers.
 */
export async function writeVolumeStream(
  pool: ThinPool,
  id: number,
  offset: number,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  length?: number,
): Promise<WriteSummary> {
  if (length !== undefined) checkRange(offset, length)
  const writer = new VolumeWriter(pool, id, offset)
  let written = 0
  try {
    for await (const chunk of source) {
      const bytes = length === undefined ? chunk : chunk.subarray(0, length - written)
      writer.write(bytes)
      written += bytes.length
      if (written === length) break
    }
    if (length !== undefined && written < length) {
      throw new FvmError('usage', `input ended after ${written} of the ${length} bytes to write`)
    }
    return writer.finish()
  } catch (error) {
    undo(pool)
    throw error
  }
}

/** The bytes of [offset, offset + length), in one buffer: for ranges that fit in memory. */
export function readVolume(pool: ThinPool, id: number, offset: number, length: number): Buffer {
  const chunks = readVolumeStream(pool, id, offset, length)
  const out = Buffer.allocUnsafe(length)
  let at = 0
  for (const chunk of chunks) {
    chunk.copy(out, at)
    at += chunk.length
  }
  return out
}

/**
 * The bytes of [offset, offset + length) in chunks of IO_CHUNK (the last one shorter).
 * Consecutive data blocks are read with one pread; holes are not read at all. Chunks
 * live in one reused buffer (fresh memory for every chunk would cost a page fault per
 * 4 KiB): each is valid until the next is asked for and must not be modified (a chunk
 * that is all hole is a view of a shared zero buffer). Any change to the pool ends the
 * iteration.
 */
export function readVolumeStream(pool: ThinPool, id: number, offset: number, length: number): Generator<Buffer, void, undefined> {
  checkRange(offset, length)
  pool.details(id)
  return chunks(pool, pool.mappings(id, Math.floor(offset / pool.dataBlockSize)), offset, offset + length)
}

function* chunks(pool: ThinPool, mappings: Generator<Mapping>, offset: number, end: number): Generator<Buffer, void, undefined> {
  const bs = pool.dataBlockSize
  const buffer = pageAlignedBuffer(Math.min(IO_CHUNK, end - offset))
  // The first mapping not yet wholly read; a run that crosses a chunk's end stays here.
  let head = mappings.next()
  try {
    for (let pos = offset; pos < end; ) {
      const stop = Math.min(end, pos + IO_CHUNK)
      let chunk: Buffer | undefined
      let cursor = pos
      while (cursor < stop) {
        while (!head.done && (head.value.vblock + 1) * bs <= cursor) head = mappings.next()
        if (head.done || head.value.vblock * bs >= stop) break
        const {vblock, dataBlock} = head.value
        let count = 1
        while ((vblock + count) * bs < stop) {
          head = mappings.next()
          if (head.done || head.value.vblock !== vblock + count || head.value.dataBlock !== dataBlock + count) break
          count++
        }
        const from = Math.max(cursor, vblock * bs)
        const to = Math.min(stop, (vblock + count) * bs)
        chunk ??= buffer.subarray(0, stop - pos)
        chunk.fill(0, cursor - pos, from - pos)
        readData(pool.dataFile, chunk.subarray(from - pos, to - pos), dataBlock * bs + (from - vblock * bs))
        cursor = to
      }
      if (chunk === undefined) yield zeroChunk().subarray(0, stop - pos)
      else {
        chunk.fill(0, cursor - pos)
        yield chunk
      }
      pos = stop
    }
  } finally {
    mappings.return(undefined)
  }
}

/** Makes [offset, offset + length) read as zeros: whole blocks unmapped, partial ones zeroed (see above). */
export function discardVolume(pool: ThinPool, id: number, offset: number, length: number, options?: WriteOptions): DiscardSummary {
  checkRange(offset, length)
  if (pool.readOnly) throw new FvmError('usage', `pool "${pool.dir}" is open read-only`)
  pool.details(id)
  const bs = pool.dataBlockSize
  const end = offset + length
  // Whole blocks [first, last); if first > last the range lies inside one block.
  const first = Math.ceil(offset / bs)
  const last = Math.floor(end / bs)
  const edges = first <= last ? [[offset, first * bs], [last * bs, end]] : [[offset, end]]
  return undoOnFailure(pool, () => {
    const summary: DiscardSummary = {blocksUnmapped: 0, blocksFreed: 0, bytesZeroed: 0}
    for (const [from, to] of edges) {
      if (to === from || pool.lookup(id, Math.floor(from / bs)) === undefined) continue
      const writer = new VolumeWriter(pool, id, from, options)
      for (let at = from; at < to; at += IO_CHUNK) writer.write(zeroChunk().subarray(0, Math.min(to - at, IO_CHUNK)))
      writer.finish()
      summary.bytesZeroed += to - from
    }
    for (let vblock = first; vblock < last; ) {
      const batch: Mapping[] = []
      for (const m of pool.mappings(id, vblock)) {
        if (m.vblock >= last || batch.length === DISCARD_BATCH) break
        batch.push(m)
      }
      if (batch.length === 0) break
      for (const m of batch) {
        pool.remove(id, m.vblock)
        summary.blocksUnmapped++
        if (pool.dataBlockRefCount(m.dataBlock) === 0) summary.blocksFreed++
      }
      vblock = batch[batch.length - 1].vblock + 1
    }
    return summary
  })
}

/** Runs a change; if it fails, undoes the whole transaction. Bad arguments are refused before, changing nothing. */
function undoOnFailure<T>(pool: ThinPool, fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    undo(pool)
    throw error
  }
}

/** Back to the last commit, so nothing half-mapped stays visible. */
function undo(pool: ThinPool): void {
  try {
    pool.rollback()
  } catch {
    // The pool failed in a commit or was closed; it is as of its last commit already,
    // and the first error is the one to report.
  }
}
