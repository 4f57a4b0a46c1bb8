// Data file writes that go to the disk on the thread pool while the caller goes on, so
// a receiver keeps reading the network while the page cache and the disk take the bytes
// it already checked. Bounded: the caller awaits room() after each batch. One write at a
// time, in order: writes to one file contend for its lock anyway, and a later write may
// overlap an earlier one (a block's fill, then bytes a later record puts in that block).
// A commit first awaits drain() (every write done), then syncs.
// The disk is kept busy between commits: every WRITEBACK_BYTES written, one fdatasync
// runs in the background, so the commit's own sync finds little left to wait for.
import type {PoolFile} from './file-io.js'

/** Written bytes after which a background fdatasync starts (when none is running). */
const WRITEBACK_BYTES = 16 * 2 ** 20

/** What a write-behind needs of a file. */
type AsyncWrites = Required<Pick<PoolFile, 'pwriteAsync' | 'fdatasyncAsync'>>

export class WriteBehind {
  readonly #file: AsyncWrites
  readonly #maxBytes: number
  /** The last write queued: each starts when the one before is done. */
  #tail: Promise<void> = Promise.resolve()
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
    const {pwriteAsync, fdatasyncAsync} = file
    if (pwriteAsync === undefined || fdatasyncAsync === undefined) return undefined
    return new WriteBehind({pwriteAsync: pwriteAsync.bind(file), fdatasyncAsync: fdatasyncAsync.bind(file)}, maxBytes)
  }

  /** Queues bytes for position; they must not change until settled() says so. Throws an earlier write's error. */
  write(bytes: Buffer, position: number): void {
    this.#throwFailure()
    this.#pendingBytes += bytes.length
    this.#tail = this.#tail.then(async () => {
      try {
        // After a failure nothing more is written: the caller will roll back.
        if (this.#error === undefined) await this.#file.pwriteAsync(bytes, position)
        this.#written(bytes.length)
      } catch (error) {
        this.#error ??= error
      } finally {
        this.#pendingBytes -= bytes.length
        this.#wake?.()
      }
    })
  }

  /** Resolves once the writes queued so far are done (failed ones too: see drain). */
  settled(): Promise<void> {
    return this.#tail
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

  /** Waits for every write and the background sync; throws the first write error. Then the file is ready to be synced and committed. */
  async drain(): Promise<void> {
    await this.settled()
    await this.#writeback
    this.#throwFailure()
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
