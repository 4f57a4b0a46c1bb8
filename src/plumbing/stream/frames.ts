// Frames: the unit everything on an fvm connection travels in, stream records and
// control messages alike: kind (1 ASCII byte), payload length (u32 big-endian), payload.
// The reader checks kind and length against the caller's limits before it reads the
// payload, so a hostile length costs nothing, and it pulls input only as frames are
// asked for, so the sender is held back by backpressure instead of filling memory.
import {FvmError} from '../../errors.js'

export const FRAME_HEAD_LENGTH = 5
/** The largest payload length a frame head can express. */
const MAX_FRAME_LENGTH = 0xffffffff

export interface Frame {
  kind: number
  payload: Buffer
  /** Where the frame's head starts, in bytes from the start of the input. */
  at: number
}

/** The most payload bytes a frame of `kind` may have at this point; 0 or less: the kind is not allowed here. */
export type FrameLimits = (kind: number) => number

/**
 * The input ended inside a frame, or before the frames the reader needed: a cut
 * connection, which a receiver may resume. Every other 'corrupt' error is a refusal.
 */
export class StreamTruncated extends FvmError {
  readonly truncated = true

  constructor(message: string) {
    super('corrupt', message)
    this.name = 'StreamTruncated'
  }
}

/** A frame kind as it is shown in messages: 'D' when printable ASCII, else hex. */
function kindName(kind: number): string {
  return kind > 0x20 && kind < 0x7f && kind !== 0x27 ? `'${String.fromCharCode(kind)}'` : `0x${kind.toString(16).padStart(2, '0')}`
}

export function encodeFrameHead(kind: number, length: number): Buffer {
  if (!Number.isInteger(kind) || kind < 0 || kind > 0xff) throw new Error(`frame kind ${kind} is not a byte`)
  if (!Number.isInteger(length) || length < 0 || length > MAX_FRAME_LENGTH) throw new Error(`frame length ${length} does not fit in 32 bits`)
  const head = Buffer.allocUnsafe(FRAME_HEAD_LENGTH)
  head[0] = kind
  head.writeUInt32BE(length, 1)
  return head
}

/** One frame (head and payload in one buffer) carrying `value` as UTF-8 JSON. */
export function encodeJsonFrame(kind: number, value: object): Buffer {
  if (value === null || Array.isArray(value)) throw new Error('a JSON frame carries an object')
  const payload = Buffer.from(JSON.stringify(value), 'utf8')
  return Buffer.concat([encodeFrameHead(kind, payload.length), payload])
}

// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: a BOM stays and is then not JSON.
const strictUtf8 = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})

/** The JSON object a frame carries; `what` names the frame and where it is, for the error. */
export function parseJsonPayload(payload: Buffer, what: string): Record<string, unknown> {
  let text: string
  try {
    text = strictUtf8.decode(payload)
  } catch {
    throw new FvmError('corrupt', `${what}: not valid UTF-8`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    // V8's message quotes the input, which may hold anything: left out.
    throw new FvmError('corrupt', `${what}: not valid JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FvmError('corrupt', `${what}: not a JSON object`)
  return value as Record<string, unknown>
}

/** An input that can read a payload straight into the buffer it is gathered in (saving a copy). */
export interface DirectInput {
  /** Fills TARGET, or as much of it as came before the input ended (0: it had ended). */
  readInto(target: Buffer): Promise<number>
}

function isDirectInput(input: object): input is DirectInput {
  return typeof (input as Partial<DirectInput>).readInto === 'function'
}

/**
 * Reads frames from a byte source (a Node Readable or any async iterable of bytes),
 * holding at most the frame being read plus one input chunk. A payload that lies
 * within one input chunk is returned as a view of it, with no copy; a longer one is
 * copied once, as it arrives, into a buffer of the checked length (or, from a
 * DirectInput, read straight into it).
 */
export class FrameReader {
  readonly #input: AsyncIterator<Uint8Array | string>
  /** The input, if it can read a payload straight into the buffer it is gathered in. */
  readonly #direct: DirectInput | undefined
  /** Input received and not yet returned, in order. */
  readonly #pending: Buffer[] = []
  #pendingBytes = 0
  #bytesRead = 0
  #ended = false

  /** With `transient`: where a payload has to be gathered from several chunks, one buffer, reused. */
  readonly #transient: boolean
  #scratch: Buffer | undefined

  /**
   * With `transient`, a payload is only good until the next call to next(): a receiver
   * that is done with each record before it asks for the next then gathers every big
   * record into the same memory, instead of allocating (and collecting) megabytes a record.
   */
  constructor(input: AsyncIterable<Uint8Array | string>, options: {transient?: boolean} = {}) {
    this.#input = input[Symbol.asyncIterator]()
    this.#direct = isDirectInput(input) ? input : undefined
    this.#transient = options.transient ?? false
  }

  /**
   * Where a payload that spans input chunks is gathered, when set (and `transient` is
   * then ignored): a buffer of at least `length` bytes, e.g. from a BufferPool, so a
   * receiver of megabytes a record reuses the same memory instead of allocating (and
   * collecting) it per record, and keeps each payload for as long as it needs it.
   */
  gatherInto: ((length: number, kind: number) => Promise<Buffer>) | undefined

  /** Bytes of the input consumed by the frames returned so far: where the next frame starts. */
  get bytesRead(): number {
    return this.#bytesRead
  }

  /**
   * The next frame; null when the input ends cleanly between frames. Throws
   * StreamTruncated when it ends inside one, and FvmError('corrupt') for a kind
   * `limits` does not allow or a length above its limit, before reading the payload.
   * Errors of the input itself (a reset connection, a destroyed stream) pass through.
   */
  async next(limits: FrameLimits): Promise<Frame | null> {
    const at = this.#bytesRead
    while (this.#pendingBytes < FRAME_HEAD_LENGTH) {
      if (!(await this.#pull())) {
        if (this.#pendingBytes === 0) return null
        throw new StreamTruncated(`stream truncated at byte ${at + this.#pendingBytes}: ended inside the head of the frame at byte ${at}`)
      }
    }
    const head = this.#take(FRAME_HEAD_LENGTH)
    const kind = head[0]
    const length = head.readUInt32BE(1)
    const limit = limits(kind)
    if (!(limit > 0)) throw new FvmError('corrupt', `frame at stream byte ${at}: kind ${kindName(kind)} is not allowed here`)
    if (length > limit) throw new FvmError('corrupt', `frame ${kindName(kind)} at stream byte ${at}: length ${length} is above its limit of ${limit}`)
    // In one chunk: a view of it. Else gathered, into memory the caller chose if it did.
    if (this.#pendingBytes >= length && (this.gatherInto === undefined || length === 0 || this.#pending[0].length >= length)) {
      return {kind, payload: this.#take(length), at}
    }
    const payload = this.gatherInto === undefined ? Buffer.allocUnsafe(length) : (await this.gatherInto(length, kind)).subarray(0, length)
    for (let filled = 0; ;) {
      filled += this.#take(Math.min(this.#pendingBytes, length - filled)).copy(payload, filled)
      if (filled === length) return {kind, payload, at}
      const direct = this.#direct === undefined || this.#ended ? 0 : await this.#direct.readInto(payload.subarray(filled, length))
      filled += direct
      this.#bytesRead += direct
      if (direct === 0 && !(await this.#pull())) {
        throw new StreamTruncated(`stream truncated at byte ${this.#bytesRead}: frame ${kindName(kind)} at byte ${at} has ${filled} of its ${length} payload bytes`)
      }
    }
  }

  /** Adds the next non-empty input chunk to the pending ones; false at the end of the input. */
  async #pull(): Promise<boolean> {
    while (!this.#ended) {
      const step = await this.#input.next()
      if (step.done) {
        this.#ended = true
        break
      }
      const chunk = step.value
      if (typeof chunk === 'string') throw new Error('frame input must be bytes (a Readable with no encoding set)')
      if (chunk.length === 0) continue
      this.#pending.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))
      this.#pendingBytes += chunk.length
      return true
    }
    return false
  }

  /** Removes the first `bytes` pending bytes (all there): a view when they lie in one chunk. */
  #take(bytes: number): Buffer {
    if (bytes === 0) return Buffer.alloc(0)
    this.#pendingBytes -= bytes
    this.#bytesRead += bytes
    const first = this.#pending[0]
    if (first.length > bytes) {
      this.#pending[0] = first.subarray(bytes)
      return first.subarray(0, bytes)
    }
    if (first.length === bytes) return this.#pending.shift() as Buffer
    // Spans chunks (a short frame, or a head): few, as only what a frame needs is pulled.
    const pieces: Buffer[] = []
    let missing = bytes
    while (missing > 0) {
      const chunk = this.#pending[0]
      if (chunk.length > missing) {
        pieces.push(chunk.subarray(0, missing))
        this.#pending[0] = chunk.subarray(missing)
        break
      }
      pieces.push(chunk)
      this.#pending.shift()
      missing -= chunk.length
    }
    if (!this.#transient) return Buffer.concat(pieces, bytes)
    if (this.#scratch === undefined || this.#scratch.length < bytes) this.#scratch = Buffer.allocUnsafeSlow(bytes)
    let at = 0
    for (const piece of pieces) at += piece.copy(this.#scratch, at)
    return this.#scratch.subarray(0, bytes)
  }
}
