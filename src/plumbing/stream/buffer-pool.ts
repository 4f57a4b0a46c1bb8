// Buffers for payloads that stay in use after they are read (until their writes finish),
// handed out and given back, so memory stays bounded and no megabytes are allocated
// and collected per record. Up to `count` buffers of `size`, made as first needed and
// page-aligned so their bytes can go to the disk directly; take() waits while all are
// out. A length far below `size` (a record of one data block) gets a small buffer
// instead, reused the same way: fresh memory per record costs page faults and garbage
// collections. Small ones are made as needed, never waited for (the caller's own flow
// control bounds how many are out), and not page-aligned: small reads and writes go
// through the page cache (see file-io.ts).
import {pageAlignedBuffer} from '../../dm/thin/volume-range.js'

/** Lengths up to size / SMALL_FRACTION get a small buffer of that size. */
const SMALL_FRACTION = 16

export class BufferPool {
  readonly #size: number
  readonly #smallSize: number
  #unmade: number
  readonly #free: Buffer[] = []
  readonly #smallFree: Buffer[] = []
  /** Memory of the pool's buffers handed out, large and small apart: a release of anything else (or a second release) does nothing. */
  readonly #out = new Set<ArrayBufferLike>()
  readonly #smallOut = new Set<ArrayBufferLike>()
  readonly #waiting: ((buffer: Buffer) => void)[] = []

  constructor(count: number, size: number) {
    this.#size = size
    this.#smallSize = Math.floor(size / SMALL_FRACTION)
    this.#unmade = count
  }

  /**
   * A buffer of at least `length` bytes: a small one for a length of at most a
   * SMALL_FRACTION of the pool's size; else a free one of the pool's (waiting for one if
   * need be); a new one of its own for a length above the pool's size.
   */
  async take(length: number): Promise<Buffer> {
    if (length > this.#size) return Buffer.allocUnsafe(length)
    if (length <= this.#smallSize) {
      const small = this.#smallFree.pop() ?? Buffer.allocUnsafeSlow(this.#smallSize)
      this.#smallOut.add(small.buffer)
      return small
    }
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
    if (this.#smallOut.delete(bytes.buffer)) {
      this.#smallFree.push(Buffer.from(bytes.buffer, 0, this.#smallSize))
      return
    }
    if (!this.#out.delete(bytes.buffer)) return
    const buffer = Buffer.from(bytes.buffer, 0, this.#size)
    const waiter = this.#waiting.shift()
    if (waiter === undefined) this.#free.push(buffer)
    else waiter(buffer)
  }
}
