// One side of an fvm connection: control messages ('M' frames of JSON) and stream
// records on one duplex byte stream. Writes wait for the pipe to drain, so a slow
// reader holds the writer back instead of filling its memory; bytes written are counted
// (what crossed the wire, for `push --json`). A side that fails sends an 'error'
// message before it stops; the other side raises it as its own error.
import type {Writable} from 'node:stream'
import {type ExitCodeName, FvmError} from '../../errors.js'
import {type FrameLimits, FrameReader, encodeJsonFrame, parseJsonPayload} from '../stream/frames.js'
import {enlargeSendBuffer} from '../transport/send-buffer.js'

export const MESSAGE_KIND = 0x4d
/** Control messages are small; lineage lists are the largest. */
export const MAX_MESSAGE_LENGTH = 4 * 1024 * 1024
export const PROTOCOL_VERSION = 2
/**
 * How far ahead a writer may get of what the pipe has taken: a few data records, so the
 * reader never waits on the writer's next disk read, and memory stays bounded.
 */
const WRITE_AHEAD_BYTES = 16 * 1024 * 1024

const messageOnly: FrameLimits = (kind) => (kind === MESSAGE_KIND ? MAX_MESSAGE_LENGTH : 0)

export type Message = Record<string, unknown> & {op: string}

export class Session {
  readonly reader: FrameReader
  #bytesSent = 0
  #output: Writable
  #outputError: Error | undefined
  /** Bytes written and not yet taken by the pipe. */
  #queued = 0
  /** Called when the queue is down to half the write-ahead, while a writer waits for that. */
  #room: (() => void) | undefined

  constructor(input: AsyncIterable<Uint8Array>, output: Writable) {
    // Every record is applied (or sent on) before the next is read.
    this.reader = new FrameReader(input, {transient: true})
    this.#output = output
    output.on('error', (error) => {
      this.#outputError ??= error
    })
  }

  /** Asks for a larger send buffer under the output (see send-buffer.ts), for a long stream about to be written. */
  enlargeSendBuffer(): void {
    enlargeSendBuffer(this.#output)
  }

  get bytesSent(): number {
    return this.#bytesSent
  }

  get bytesReceived(): number {
    return this.reader.bytesRead
  }

  /**
   * Writes buffers in order; resolves once no more than WRITE_AHEAD_BYTES wait to go into
   * the pipe. `taken`, if given, is called once the pipe has taken them all (or failed):
   * until then they must not change.
   */
  async write(buffers: Buffer[], taken?: () => void): Promise<void> {
    buffers.forEach((buffer, i) => {
      if (this.#outputError) throw this.#outputError
      this.#bytesSent += buffer.length
      this.#queued += buffer.length
      this.#output.write(buffer, () => {
        this.#queued -= buffer.length
        if (this.#queued <= WRITE_AHEAD_BYTES / 2) this.#room?.()
        if (i === buffers.length - 1) taken?.()
      })
    })
    if (this.#queued > WRITE_AHEAD_BYTES) await this.#roomMade()
    if (this.#outputError) throw this.#outputError
  }

  /**
   * Once the queue is down to half the write-ahead: the pipe still has plenty to take
   * while the writer prepares more ('drain' comes only when the queue is empty, and the
   * pipe would idle while the next record is read and checksummed).
   */
  #roomMade(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error?: Error): void => {
        this.#room = undefined
        this.#output.off('error', done)
        this.#output.off('close', onClose)
        if (error) reject(error)
        else resolve()
      }
      const onClose = (): void => done(new FvmError('remote', 'the connection closed while sending'))
      this.#room = () => done()
      this.#output.once('error', done)
      this.#output.once('close', onClose)
    })
  }

  send(message: Message): Promise<void> {
    return this.write([encodeJsonFrame(MESSAGE_KIND, message)])
  }

  /** Sends an error to the other side (best effort: it may be gone). */
  async sendError(error: unknown): Promise<void> {
    const fvm = error instanceof FvmError ? error : new FvmError('failure', (error as Error).message ?? String(error))
    try {
      await this.send({op: 'error', kind: fvm.kind, message: fvm.message, ...(fvm.hint ? {hint: fvm.hint} : {})})
    } catch {
      // The other side is gone; it has its own error.
    }
  }

  /** The next message, which must be one of `ops`; an 'error' message is raised, a closed connection too. */
  async receive(ops: readonly string[], what: string): Promise<Message> {
    const frame = await this.reader.next(messageOnly)
    if (frame === null) throw new FvmError('remote', `the other side closed the connection while ${what}`)
    const message = parseJsonPayload(frame.payload, `message at stream byte ${frame.at}`)
    if (message.op === 'error') throw remoteError(message)
    if (typeof message.op !== 'string' || !ops.includes(message.op)) {
      throw new FvmError('corrupt', `unexpected message "${String(message.op).slice(0, 40)}" while ${what}`)
    }
    return message as Message
  }

  /** Ends our output: the other side sees a clean end of input. */
  end(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#output.writableEnded || this.#output.destroyed) resolve()
      else this.#output.end(resolve)
    })
  }
}

const REMOTE_KINDS: readonly ExitCodeName[] = ['usage', 'notFound', 'conflict', 'corrupt', 'noSpace', 'remote', 'aborted', 'failure']

/** The other side's error, as ours: its kind (so exit codes match) and its words. */
function remoteError(message: Record<string, unknown>): FvmError {
  const kind = REMOTE_KINDS.includes(message.kind as ExitCodeName) ? (message.kind as ExitCodeName) : 'remote'
  const text = typeof message.message === 'string' ? message.message.slice(0, 2000) : 'failed'
  const hint = typeof message.hint === 'string' ? message.hint.slice(0, 2000) : undefined
  return new FvmError(kind, `remote: ${text}`, hint ? {hint} : {})
}

/** Reads a field of a message that must be a string (or null where allowed). */
export function field<T extends 'string' | 'number' | 'boolean' | 'object'>(
  message: Message,
  name: string,
  type: T,
  options: {nullable?: boolean} = {},
): T extends 'string' ? string : T extends 'number' ? number : T extends 'boolean' ? boolean : Record<string, unknown> {
  const value = message[name]
  if (value === null && options.nullable) return value as never
  if (typeof value !== type || value === null || (type === 'number' && !Number.isSafeInteger(value))) {
    throw new FvmError('corrupt', `message "${message.op}": field "${name}" is not a ${type}`)
  }
  return value as never
}
