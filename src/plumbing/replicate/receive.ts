// The receiving side of a transfer: stage the snapshot (beginReceive), apply the
// stream's extents to the staged device, commit progress every so often (data synced,
// then pool and catalog in one two-phase commit), and publish it once the trailer has
// checked out (finishReceive). A stream that stops early keeps what arrived whole, so
// the next attempt resumes there; a stream that is refused leaves nothing behind.
import {DIRECT_IO_ALIGNMENT as PAGE} from '../../dm/pdata/file-io.js'
import {WriteBehind} from '../../dm/pdata/write-behind.js'
import {discardVolume, writeVolume} from '../../dm/thin/volume-io.js'
import {FvmError} from '../../errors.js'
import type {CatalogState} from '../catalog/model.js'
import {
  type BeginReceiveResult,
  type FinishReceiveResult,
  type ReceiveRequest,
  abortReceive,
  beginReceive,
  checkpointReceive,
  finishReceive,
} from '../catalog/ops-receive.js'
import type {InstanceContext, OpenInstance} from '../instance-open.js'
import {BufferPool} from '../stream/buffer-pool.js'
import {StreamDecoder} from '../stream/decoder.js'
import {DATA_PREFIX_LENGTH, MAX_DATA, RecordKind, type StreamHeader} from '../stream/format.js'
import type {FrameReader} from '../stream/frames.js'
import {type PreparedOperation, commitOperation, commitOperationAfter, prepareOperation} from '../transaction.js'

/**
 * Progress commits: about 16 per stream, so a resume repeats little of it; never over
 * 256 MiB apart, nor under 8 MiB (a synced commit takes about as long as sending that).
 */
const MIN_CHECKPOINT_BYTES = 8 * 2 ** 20
const MAX_CHECKPOINT_BYTES = 256 * 2 ** 20
const CHECKPOINTS_PER_STREAM = 16
/** Checked data on its way to the disk while the next records are read: records in buffers, bytes in writes. */
const PAYLOAD_BUFFERS = 8
const WRITE_BEHIND_BYTES = 32 * 2 ** 20

/**
 * When a stream of dataBytes commits its progress: each time `every` bytes arrived since
 * the last commit, unless less than half of that is still to come (the final commit is
 * that close).
 */
export function progressCommitDue(dataBytes: number): (sinceLast: number, received: number) => boolean {
  const every = Math.min(MAX_CHECKPOINT_BYTES, Math.max(MIN_CHECKPOINT_BYTES, Math.ceil(dataBytes / CHECKPOINTS_PER_STREAM)))
  return (sinceLast, received) => sinceLast >= every && dataBytes - received >= every / 2
}

export function stageReceive(instance: OpenInstance, request: ReceiveRequest, ctx: InstanceContext): BeginReceiveResult {
  return prepareStaging(instance, request, ctx).commit()
}

/** stageReceive in two steps: where the stream will start is known before the staging is committed. */
export function prepareStaging(instance: OpenInstance, request: ReceiveRequest, ctx: InstanceContext): PreparedOperation<BeginReceiveResult> {
  return prepareOperation(instance, (state, context) => beginReceive(state, request, context), ctx)
}

/** Told the data bytes received so far. */
export interface ReceiveProgress {
  update(done: number): void
}

/** Makes a progress display once the stream's header says how many data bytes will come. */
export type StartProgress = (dataBytes: number) => ReceiveProgress

export interface ApplyOptions {
  instance: OpenInstance
  ctx: InstanceContext
  request: ReceiveRequest
  staged: BeginReceiveResult
  progress?: StartProgress
}

export type AppliedStream = FinishReceiveResult & {
  /** Volume data this stream carried (after the resume point). */
  dataBytes: number
}

/** Applies the stream the reader delivers to the staged device and publishes it. */
export async function applyStream(reader: FrameReader, o: ApplyOptions): Promise<AppliedStream> {
  const {instance, request, staged} = o
  const {pool} = instance
  const uuid = request.snapshot.uuid
  // Writes go to the disk on the thread pool, from buffers given back once written.
  const sink = WriteBehind.for(pool.dataFile, WRITE_BEHIND_BYTES)
  const payloads = new BufferPool(PAYLOAD_BUFFERS, PAGE + MAX_DATA)
  if (sink !== undefined) reader.gatherInto = (length, kind) => (kind === RecordKind.data ? dataPayload(payloads, length) : Promise.resolve(Buffer.allocUnsafe(length)))
  let committed = staged.received
  let applied = committed
  /** Set while a record is being applied: an error then leaves the pool's changes half made. */
  let applying = false
  const checkpoint = async (): Promise<void> => {
    if (applied === committed) return
    await sink?.drain()
    commitOperation(instance, (state) => checkpointReceive(state, {snapshot: uuid, received: applied}), o.ctx)
    committed = applied
  }
  try {
    const decoder = new StreamDecoder(reader, {maxVolumeSize: request.volume.size})
    const header = await decoder.header()
    checkHeaderMatches(header, request, staged.received)
    const progress = o.progress?.(header.dataBytes)
    const commitDue = progressCommitDue(header.dataBytes)
    let sinceCheckpoint = 0
    let received = 0
    for (;;) {
      const record = await decoder.next()
      if (record.kind === 'end') break
      applying = true
      if (record.kind === 'data') {
        writeVolume(pool, staged.device, record.offset, record.data, {sink})
        applied = record.offset + record.data.length
        received += record.data.length
        sinceCheckpoint += record.data.length
        progress?.update(received)
      } else {
        discardVolume(pool, staged.device, record.offset, record.length, {sink})
        applied = record.offset + record.length
      }
      applying = false
      if (sink !== undefined) {
        if (record.kind === 'data') {
          const {data} = record
          void sink.settled().then(() => payloads.release(data))
        }
        await sink.room()
      }
      o.ctx.failpoint?.('receive.extent')
      if (commitDue(sinceCheckpoint, received)) {
        await checkpoint()
        sinceCheckpoint = 0
      }
    }
    // Made while the last writes, already under way, go to the disk: releasing the head it replaces walks that head's mappings.
    const published = await commitOperationAfter(instance, (state, context) => finishReceive(state, {snapshot: uuid}, context), o.ctx, async () => sink?.drain())
    return {...published, dataBytes: received}
  } catch (error) {
    // No write may land after this: the blocks they go to are free again once rolled back.
    const written = sink === undefined || (await sink.drain().then(() => true, () => false))
    if (isInterruption(error) && !applying && written) {
      // Every extent applied so far arrived whole, checked out and is written: keep it for the resume.
      try {
        await checkpoint()
      } catch {
        // The interruption is the error to report; the last checkpoint still stands.
        undoUncommitted(instance)
      }
    } else {
      undoUncommitted(instance)
      if (!isInterruption(error) && isStaged(instance.catalog.committed().value, uuid)) {
        commitOperation(instance, (state) => abortReceive(state, {snapshot: uuid}), o.ctx)
      }
    }
    throw error
  } finally {
    reader.gatherInto = undefined
  }
}

/** A pooled buffer for a data record's payload, its data a page in: in a large one, whole blocks of it can bypass the page cache. */
async function dataPayload(payloads: BufferPool, length: number): Promise<Buffer> {
  const buffer = await payloads.take(PAGE - DATA_PREFIX_LENGTH + length)
  return buffer.subarray(PAGE - DATA_PREFIX_LENGTH)
}

/** The stream must be the one that was staged, resuming where the staging says. */
function checkHeaderMatches(header: StreamHeader, request: ReceiveRequest, received: number): void {
  const differs = (what: string): never => {
    throw new FvmError('corrupt', `stream header does not match the transfer it was sent for: ${what}`)
  }
  if (header.instance !== request.instance) differs(`instance "${header.instance}"`)
  if (header.volume.uuid !== request.volume.uuid || header.volume.size !== request.volume.size) differs('volume')
  if (header.branch !== request.branch) differs(`branch "${header.branch}"`)
  if (header.base !== request.base) differs(`base ${header.base ?? 'none'}`)
  const t = header.target
  const s = request.snapshot
  if (t.uuid !== s.uuid || t.parent !== s.parent || t.created !== s.created) differs(`snapshot ${t.uuid}`)
  if (header.resumeFrom !== received) differs(`resumes from byte ${header.resumeFrom}, not ${received}`)
}

/** A cut connection, not a bad stream: the input ended, or the other side went away. */
export function isInterruption(error: unknown): boolean {
  if ((error as {truncated?: unknown}).truncated === true) return true
  const code = (error as NodeJS.ErrnoException).code
  return code === 'EPIPE' || code === 'ECONNRESET' || (error instanceof FvmError && error.kind === 'remote')
}

function isStaged(state: CatalogState, uuid: string): boolean {
  return Object.hasOwn(state.receiving, uuid)
}

function undoUncommitted(instance: OpenInstance): void {
  try {
    instance.pool.rollback()
  } catch {
    // Already as of its last commit.
  }
}
