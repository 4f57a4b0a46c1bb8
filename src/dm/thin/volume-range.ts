// Byte ranges of a thin device and the unit of volume I/O. A thin device has no size of
// its own (the catalog knows the volume's), so any range within 2^53 bytes is valid.
import {FvmError} from '../../errors.js'
import type {PoolFile} from '../pdata/file-io.js'

/** Bytes per pread or pwrite and per streamed chunk: big enough for full disk speed, small enough to bound memory. */
export const IO_CHUNK = 4 * 1024 * 1024

export function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new FvmError('usage', `byte offset ${offset} is not an integer in 0..2^53-1`)
  if (!Number.isSafeInteger(length) || length < 0) throw new FvmError('usage', `byte length ${length} is not an integer in 0..2^53-1`)
  if (offset + length > Number.MAX_SAFE_INTEGER) {
    throw new FvmError('usage', `byte range of ${length} at ${offset} ends beyond 2^53-1`)
  }
}

/**
 * A buffer that starts on a page boundary, for bulk I/O: the kernel copies between it
 * and the page cache a third faster than from Buffer.allocUnsafe's memory, which sits
 * 16 bytes into a page. A resizable ArrayBuffer gets pages of its own (V8 reserves its
 * maximum size up front), so it is page-aligned.
 */
export function pageAlignedBuffer(size: number): Buffer {
  return Buffer.from(new ResizableArrayBuffer(size, {maxByteLength: size}))
}

/** ES2024's ArrayBuffer constructor, which the project's ES2023 typings lack. */
const ResizableArrayBuffer = ArrayBuffer as unknown as new (length: number, options: {maxByteLength: number}) => ArrayBuffer

let zeros: Buffer | undefined

/** IO_CHUNK zero bytes, shared by every caller: never to be modified. */
export function zeroChunk(): Buffer {
  zeros ??= pageAlignedBuffer(IO_CHUNK).fill(0)
  return zeros
}

/** Fills buf from the data file; the pool checked at open that every data block is inside the file. */
export function readData(file: PoolFile, buf: Buffer, position: number): void {
  checkRead(file, buf, position, file.pread(buf, position))
}

/** readData on the thread pool, where the file can (page-aligned buffers skip the page cache). */
export async function readDataAsync(file: PoolFile, buf: Buffer, position: number): Promise<void> {
  checkRead(file, buf, position, file.preadAsync === undefined ? file.pread(buf, position) : await file.preadAsync(buf, position))
}

function checkRead(file: PoolFile, buf: Buffer, position: number, n: number): void {
  if (n !== buf.length) throw new FvmError('corrupt', `data file "${file.path}" ends at byte ${position + n}, inside a data block`)
}
