// Reads a pipe or socket, by descriptor, for a FrameReader. A receiver takes gigabytes
// through it, and a Node Readable costs it a buffer, stream bookkeeping and an
// async-iterator step per read, then a copy into the payload's buffer. Here reads land
// in the free part of a slab and are handed on as views of it, and a payload being
// gathered is read straight into its own buffer (readInto): the receiving side of a
// 4 GiB push took 4.9 s of CPU instead of 6.0 s. Little is read ahead (the pipe holds
// the rest), so a slow receiver holds the sender back through the pipe instead of
// filling memory.
import net from 'node:net'
import type {DirectInput} from '../stream/frames.js'

const SLAB_BYTES = 1024 * 1024
/** The most a read into a slab takes: a frame head and the start of its payload, or a few small frames. */
const SLAB_READ_BYTES = 64 * 1024
/** Reading stops while this much has been read and not yet taken. */
const MAX_UNREAD_BYTES = SLAB_READ_BYTES

export class DescriptorInput implements AsyncIterableIterator<Buffer>, DirectInput {
  readonly #socket: net.Socket
  readonly #unread: Buffer[] = []
  #unreadBytes = 0
  #slab = Buffer.allocUnsafeSlow(SLAB_BYTES)
  #slabUsed = 0
  /** The socket's next read goes to the target (else to the slab). */
  #roomInTarget = false
  /** What readInto is filling, and how much of it is filled. */
  #target: Buffer | undefined
  #targetFilled = 0
  #paused = false
  #ended = false
  #error: Error | undefined
  /** Wakes a next() or readInto() waiting for input. */
  #wake: (() => void) | undefined

  /** FD must be a pipe or a socket (fs.Stats isFIFO or isSocket); it is ours from now on. */
  constructor(fd: number) {
    const onread: net.OnReadOpts = {buffer: () => this.#nextRoom(), callback: (bytes, into) => this.#arrived(bytes, into as Buffer)}
    // @types/node lists onread for connect() only; the Socket constructor takes it too (lib/net.js).
    this.#socket = new net.Socket({fd, readable: true, writable: false, allowHalfOpen: true, onread} as net.SocketConstructorOpts)
    this.#socket.on('end', () => this.#socket.destroy())
    this.#socket.on('close', () => {
      this.#ended = true
      this.#wakeReader()
    })
    this.#socket.on('error', (error) => {
      this.#error ??= error
      this.#wakeReader()
    })
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  async next(): Promise<IteratorResult<Buffer, undefined>> {
    for (;;) {
      const chunk = this.#unread.shift()
      if (chunk !== undefined) {
        this.#unreadBytes -= chunk.length
        this.#resumeIfRoom()
        return {value: chunk, done: false}
      }
      if (this.#error !== undefined) throw this.#error
      if (this.#ended) return {value: undefined, done: true}
      await this.#waitForInput()
    }
  }

  async readInto(target: Buffer): Promise<number> {
    // What was read ahead comes first.
    let filled = 0
    while (filled < target.length && this.#unread.length > 0) {
      const chunk = this.#unread[0]
      const copied = chunk.copy(target, filled)
      filled += copied
      this.#unreadBytes -= copied
      if (copied === chunk.length) this.#unread.shift()
      else this.#unread[0] = chunk.subarray(copied)
    }
    if (filled > 0 || target.length === 0) {
      this.#resumeIfRoom()
      return filled
    }
    if (this.#error !== undefined) throw this.#error
    if (this.#ended) return 0
    this.#target = target
    this.#targetFilled = 0
    try {
      while (this.#targetFilled < target.length && this.#error === undefined && !this.#ended) await this.#waitForInput()
      if (this.#targetFilled === 0 && this.#error !== undefined) throw this.#error
      return this.#targetFilled
    } finally {
      this.#target = undefined
    }
  }

  /** Stops reading and closes the descriptor; what was not taken is dropped. */
  destroy(): void {
    this.#socket.destroy()
  }

  #waitForInput(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve
      this.#resumeIfRoom()
    })
  }

  /** Where the next read goes: the rest of the target while one is being filled, else the slab's free part. */
  #nextRoom(): Buffer {
    this.#roomInTarget = this.#target !== undefined && this.#targetFilled < this.#target.length
    if (this.#roomInTarget) return (this.#target as Buffer).subarray(this.#targetFilled)
    if (SLAB_BYTES - this.#slabUsed < SLAB_READ_BYTES) {
      this.#slab = Buffer.allocUnsafeSlow(SLAB_BYTES)
      this.#slabUsed = 0
    }
    return this.#slab.subarray(this.#slabUsed, this.#slabUsed + SLAB_READ_BYTES)
  }

  /** BYTES landed at the start of INTO (the room #nextRoom gave); false stops reading. */
  #arrived(bytes: number, into: Buffer): boolean {
    const target = this.#target
    if (this.#roomInTarget && target !== undefined) {
      this.#targetFilled += bytes
    } else {
      // Into the slab: read before the target was known, or as a frame head and what follows it.
      this.#slabUsed += bytes
      let chunk = into.subarray(0, bytes)
      if (target !== undefined) {
        const copied = chunk.copy(target, this.#targetFilled)
        this.#targetFilled += copied
        chunk = chunk.subarray(copied)
      }
      if (chunk.length > 0) {
        this.#unread.push(chunk)
        this.#unreadBytes += chunk.length
      }
    }
    // A target keeps the reads coming until it is full; after it, where the next bytes go is not known yet.
    const more = target !== undefined ? this.#targetFilled < target.length : this.#unreadBytes < MAX_UNREAD_BYTES
    if (!more || this.#unreadBytes > 0) this.#wakeReader()
    this.#paused = !more
    return more
  }

  #resumeIfRoom(): void {
    if (!this.#paused || this.#unreadBytes >= MAX_UNREAD_BYTES) return
    this.#paused = false
    this.#socket.resume()
  }

  #wakeReader(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }
}
