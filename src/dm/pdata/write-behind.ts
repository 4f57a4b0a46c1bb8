// Data file writes that go to the disk on the thread pool while the caller goes on, so
// a receiver keeps reading the network while the page cache and the disk take the bytes
// it already checked. Bounded: the caller awaits room() after each batch. One write call
// at a time, in order: writes to one file contend for its lock anyway, and a later write
// may overlap an earlier one (a block's fill, then bytes a later record puts in that
// block). Writes queued end to end go out together, as one vectored write: a stream of
// small records lands in consecutive data blocks, and one call per block would leave
// the disk waiting on the thread pool's round trips.
// A commit first awaits drain() (every write done), then syncs.
// The disk is kept busy between commits: every WRITEBACK_BYTES written since the last
// drain, one fdatasync runs in the background, so the commit's own sync finds little
// left to wait for (and a commit never waits for a background sync of its own bytes).
import type {PoolFile} from './file-io.js'

/** Bytes written since the last drain after which a background fdatasync starts (when none is running). */
const WRITEBACK_BYTES = 16 * 2 ** 20
/** At most this much, in at most MAX_BATCH_BUFFERS buffers, per vectored write. */
const MAX_BATCH_BYTES = 8 * 2 ** 20
const MAX_BATCH_BUFFERS = 256

/** What a write-behind needs of a file. */
type AsyncWrites = Required<Pick<PoolFile, 'pwritevAsync' | 'fdatasyncAsync'>>

interface QueuedWrite {
  bytes: Buffer
  position: number
}

export class WriteBehind {
  readonly #file: AsyncWrites
  readonly #maxBytes: number
  /** Writes not started yet, in the order queued. */
  readonly #queue: QueuedWrite[] = []
  #writing = false
  /** Writes queued since the start, and of those, done (or dropped after a failure). */
  #queuedCount = 0
  #doneCount = 0
  /** settled() callers, each waiting for the writes queued before it. */
  #waiters: {upTo: number; resolve: () => void}[] = []
  #pendingBytes = 0
  #error: unknown
  #sinceWriteback = 0
  #writeback: Promise<void> | undefined
  /** Resolved when pending bytes drop (a write finished). */
  #wake: (() => void) | undefined

  constructor(file: AsyncWrites, maxBytes: number) {
    this.#file = file
    this.#maxBytes = maxBytes
  }

  /** The file's async calls, if it has them: else undefined, and the caller writes synchronously. */
  static for(file: PoolFile, maxBytes: number): WriteBehind | undefined {
    const {pwritevAsync, fdatasyncAsync} = file
    if (pwritevAsync === undefined || fdatasyncAsync === undefined) return undefined
    return new WriteBehind({pwritevAsync: pwritevAsync.bind(file), fdatasyncAsync: fdatasyncAsync.bind(file)}, maxBytes)
  }

  /** Queues bytes for position; they must not change until settled() says so. Throws an earlier write's error. */
  write(bytes: Buffer, position: number): void {
    this.#throwFailure()
    this.#pendingBytes += bytes.length
    this.#queuedCount++
    this.#queue.push({bytes, position})
    if (!this.#writing) void this.#writeQueued()
  }

  /** Resolves once the writes queued so far are done (failed ones too: see drain). */
  settled(): Promise<void> {
    if (this.#doneCount === this.#queuedCount) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({upTo: this.#queuedCount, resolve}))
  }

  /** Waits until fewer than maxBytes are in flight; throws a failed write's error. */
  async room(): Promise<void> {
    while (this.#pendingBytes >= this.#maxBytes) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
      this.#wake = undefined
    }
    this.#throwFailure()
  }

  /**
   * Waits for every write and the background sync; throws the first write error. Then the
   * file is ready to be synced and committed: the bytes written so far are that commit's
   * to sync, so the next background sync counts from here.
   */
  async drain(): Promise<void> {
    this.#sinceWriteback = 0
    await this.settled()
    await this.#writeback
    this.#throwFailure()
  }

  /** Writes batches from the queue until it is empty. */
  async #writeQueued(): Promise<void> {
    this.#writing = true
    while (this.#queue.length > 0) {
      const {batch, bytes} = this.#nextBatch()
      try {
        // After a failure nothing more is written: the caller will roll back.
        if (this.#error === undefined) {
          await this.#file.pwritevAsync(
            batch.map((w) => w.bytes),
            batch[0].position,
          )
          this.#written(bytes)
        }
      } catch (error) {
        this.#error ??= error
      }
      this.#pendingBytes -= bytes
      this.#doneCount += batch.length
      this.#waiters = this.#waiters.filter((w) => {
        if (w.upTo > this.#doneCount) return true
        w.resolve()
        return false
      })
      this.#wake?.()
    }
    this.#writing = false
  }

  /** The first queued write and those that continue it end to end, within the batch limits; and their length. */
  #nextBatch(): {batch: QueuedWrite[]; bytes: number} {
    const batch = [this.#queue.shift()!]
    let end = batch[0].position + batch[0].bytes.length
    let bytes = batch[0].bytes.length
    while (this.#queue.length > 0 && batch.length < MAX_BATCH_BUFFERS) {
      const next = this.#queue[0]
      if (next.position !== end || bytes + next.bytes.length > MAX_BATCH_BYTES) break
      batch.push(this.#queue.shift()!)
      end += next.bytes.length
      bytes += next.bytes.length
    }
    return {batch, bytes}
  }

  #written(bytes: number): void {
    this.#sinceWriteback += bytes
    if (this.#sinceWriteback < WRITEBACK_BYTES || this.#writeback !== undefined) return
    this.#sinceWriteback = 0
    // Its outcome does not matter: the commit's own fdatasync decides.
    this.#writeback = this.#file.fdatasyncAsync().then(
      () => undefined,
      () => undefined,
    ).finally(() => {
      this.#writeback = undefined
    })
  }

  #throwFailure(): void {
    if (this.#error !== undefined) throw this.#error
  }
}
