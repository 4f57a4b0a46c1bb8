// The sending side of a transfer: the extents that make a base snapshot into a target
// (from the mapping delta, whose cost follows what changed; for a full stream, the
// target's mappings), written as a block-export stream. The data of each extent is read
// straight from the pool's data file, where a run of blocks the delta reports as one
// range lies contiguous.
import {deltaRanges} from '../../dm/thin/delta-ranges.js'
import type {ThinPool} from '../../dm/thin/thin-pool.js'
import {readDataAsync} from '../../dm/thin/volume-range.js'
import {MAX_DATA, type StreamCounts, type StreamHeader, splitDataExtent} from '../stream/format.js'
import {StreamEncoder} from '../stream/encoder.js'
import {BufferPool} from '../stream/buffer-pool.js'
import type {Session} from './session.js'

/** Data records read ahead or waiting in the pipe's queue: more than the session's write-ahead holds. */
const SEND_BUFFERS = 8
/** A stream this long is worth a larger socket buffer (perl's start, ~4 ms, does not pay off on a short one). */
const LONG_STREAM_BYTES = 64 * 2 ** 20

/** Crash points of a transfer, for the resume tests: before each data extent is sent; after each is applied. */
export const TRANSFER_FAILPOINTS = ['send.extent', 'receive.extent'] as const

export type Extent =
  /** `length` bytes at `offset` in the volume, found at `dataOffset` in the data file. */
  | {kind: 'data'; offset: number; length: number; dataOffset: number}
  | {kind: 'zero'; offset: number; length: number}

export interface ExtentSource {
  pool: ThinPool
  /** The base snapshot's device; null for a full stream. */
  base: number | null
  target: number
  /** The volume's size in bytes. */
  size: number
  /** Bytes already received: extents before it are left out, one across it is cut. */
  resumeFrom: number
}

/** Runs of mapped blocks of `target` contiguous in both spaces, as thin_delta's ranges of a device against nothing. */
function* fullRanges(pool: ThinPool, target: number): Generator<{begin: number; length: number; data: number}> {
  let run: {begin: number; length: number; data: number} | undefined
  for (const m of pool.mappings(target, 0)) {
    if (run && m.vblock === run.begin + run.length && m.dataBlock === run.data + run.length) {
      run.length++
      continue
    }
    if (run) yield run
    run = {begin: m.vblock, length: 1, data: m.dataBlock}
  }
  if (run) yield run
}

/** What makes base into target, in volume order, clipped to the volume and the resume point, at most MAX_DATA per data extent. */
export function* extentsToSend(o: ExtentSource): Generator<Extent, void, undefined> {
  const bs = o.pool.dataBlockSize
  const clip = function* (kind: 'data' | 'zero', begin: number, blocks: number, data: number): Generator<Extent> {
    const from = Math.max(begin * bs, o.resumeFrom)
    const to = Math.min((begin + blocks) * bs, o.size)
    if (from >= to) return
    if (kind === 'zero') {
      yield {kind, offset: from, length: to - from}
      return
    }
    const dataStart = data * bs + (from - begin * bs)
    for (const piece of splitDataExtent(from, to - from, MAX_DATA)) {
      yield {kind, offset: piece.offset, length: piece.length, dataOffset: dataStart + (piece.offset - from)}
    }
  }
  if (o.base === null) {
    for (const r of fullRanges(o.pool, o.target)) yield* clip('data', r.begin, r.length, r.data)
    return
  }
  for (const r of deltaRanges(o.pool.delta(o.base, o.target, {includeSame: false}))) {
    if (r.kind === 'left_only') yield* clip('zero', r.begin, r.length, 0)
    else if (r.kind === 'right_only') yield* clip('data', r.begin, r.length, r.dataBegin)
    else if (r.kind === 'different') yield* clip('data', r.begin, r.length, r.rightDataBegin)
  }
}

/** Extents the counting walk keeps for the stream, which then need not walk the delta again; more are walked again (bounded memory). */
const KEPT_EXTENTS = 65536

export interface PlannedExtents {
  /** What the extents hold, for the header and for --dry-run. */
  counts: StreamCounts
  /** The extents, in order: the ones kept, or a new walk. */
  extents(): Iterable<Extent>
}

/** Walks the extents once (mappings only, no data) to count them, keeping them when there are at most `keep`. */
export function planExtents(o: ExtentSource, keep = KEPT_EXTENTS): PlannedExtents {
  return walkExtents(o, keep, Number.POSITIVE_INFINITY)!
}

/** planExtents for a walk that may not be needed: it gives up (undefined) past `most` extents. */
export function planFewExtents(o: ExtentSource, most: number): PlannedExtents | undefined {
  return walkExtents(o, most, most)
}

function walkExtents(o: ExtentSource, keep: number, most: number): PlannedExtents | undefined {
  const counts: StreamCounts = {extents: 0, dataBytes: 0, zeroBytes: 0}
  let kept: Extent[] | undefined = []
  for (const e of extentsToSend(o)) {
    if (++counts.extents > most) return undefined
    if (e.kind === 'data') counts.dataBytes += e.length
    else counts.zeroBytes += e.length
    if (kept && kept.push(e) > keep) kept = undefined
  }
  return {counts, extents: () => kept ?? extentsToSend(o)}
}

/** Told the data bytes sent so far. */
export interface SendProgress {
  update(done: number): void
}

/** Writes the whole stream: header, extents (data read from the pool), trailer. */
export async function sendStream(
  session: Session,
  header: StreamHeader,
  pool: ThinPool,
  extents: Iterable<Extent>,
  progress?: SendProgress,
  failpoint?: (name: string) => void,
): Promise<void> {
  const encoder = new StreamEncoder(header)
  const buffers = new BufferPool(SEND_BUFFERS, MAX_DATA)
  if (header.dataBytes >= LONG_STREAM_BYTES) session.enlargeSendBuffer()
  await session.write(encoder.header())
  let sent = 0
  for (const e of extents) {
    if (e.kind === 'zero') {
      await session.write(encoder.zero(e.offset, e.length))
      continue
    }
    failpoint?.('send.extent')
    // Back to the pool once the pipe has taken it: until then it waits in the pipe's queue.
    const data = (await buffers.take(e.length)).subarray(0, e.length)
    await readDataAsync(pool.dataFile, data, e.dataOffset)
    await session.write(encoder.data(e.offset, data), () => buffers.release(data))
    sent += e.length
    progress?.update(sent)
  }
  await session.write(encoder.trailer())
}
