// Up to `count` equal buffers, made as first needed, handed out and given back, for
// payloads that stay in use after they are read (until their writes finish): memory
// stays bounded, and no megabytes are allocated and collected per record. take() waits
// while all are out. Page-aligned, so their bytes can go to the disk directly.
import {pageAlignedBuffer} from '../../dm/thin/volume-range.js'

/** Lengths under size / SMALL_FRACTION are not pooled. */
const SMALL_FRACTION = 16

export class BufferPool {
  readonly #size: number
  #unmade: number
  readonly #free: Buffer[] = []
  /** Memory of the buffers handed out: a release of anything else (or a second release) does nothing. */
  readonly #out = new Set<ArrayBufferLike>()
  readonly #waiting: ((buffer: Buffer) => void)[] = []

  constructor(count: number, size: number) {
    this.#size = size
    this.#unmade = count
  }

  /**
   * A buffer of at least `length` bytes: a free one of the pool (waiting for one if need
   * be); a new one of its own for a length above the pool's size, or one so far below it
   * that allocating it costs less than holding a whole pool buffer.
   */
  async take(length: number): Promise<Buffer> {
    if (length > this.#size || length < this.#size / SMALL_FRACTION) return Buffer.allocUnsafe(length)
    let buffer = this.#free.pop()
    if (buffer === undefined && this.#unmade > 0) {
      this.#unmade--
      buffer = pageAlignedBuffer(this.#size)
    }
    buffer ??= await new Promise<Buffer>((resolve) => this.#waiting.push(resolve))
    this.#out.add(buffer.buffer)
    return buffer
  }

  /** Gives back the buffer `bytes` lies in, if it is one of the pool's; anything else is left to the GC. */
  release(bytes: Uint8Array): void {
    if (!this.#out.delete(bytes.buffer)) return
    const buffer = Buffer.from(bytes.buffer, 0, this.#size)
    const waiter = this.#waiting.shift()
    if (waiter === undefined) this.#free.push(buffer)
    else waiter(buffer)
  }
}
