// Raw images in and out of volumes, for the porcelain. Export writes a branch's, tag's or
// remote branch's bytes, with holes where nothing is mapped (zeros on a pipe). Import
// writes only the blocks whose content differs from what the branch holds and unmaps
// all-zero ones, so a slightly changed image keeps the rest shared with tags and push
// bases; it is one pool commit (no catalog change: the transaction id stays), and as it
// writes no block in place, an import refused or failed part way leaves the branch as it
// was.
//
// Everything runs synchronously under the instance's lock (withInstance closes the pool
// when its function returns), so stdin and stdout are read and written with the fs
// calls, waiting out EAGAIN on descriptors inherited non-blocking.
import fs from 'node:fs'
import type {ThinPool} from '../../dm/thin/thin-pool.js'
import {discardVolume, readVolumeStream, writeVolume} from '../../dm/thin/volume-io.js'
import {IO_CHUNK, pageAlignedBuffer, readData, zeroChunk} from '../../dm/thin/volume-range.js'
import {FvmError} from '../../errors.js'
import {resolveDevice} from '../catalog/ops-lookups.js'
import {type InstanceContext, withInstance} from '../instance-open.js'
import {checkRef} from './entry.js'

export interface ExportImageResult {
  ref: string
  device: number
  /** The volume's size: every byte written (holes included). */
  bytes: number
  /** Bytes of mapped blocks, read from the pool. */
  dataBytes: number
  /** Bytes of unmapped ranges: holes in a file, zeros on a pipe. */
  holeBytes: number
}

export interface ImportImageResult {
  branch: string
  device: number
  bytesRead: number
  blocksWritten: number
  blocksUnchanged: number
  blocksZeroed: number
}

/** Told the bytes done so far. */
export interface TransferProgress {
  update(done: number): void
}

/** The size in bytes of the volume a branch, tag or remote branch belongs to: a progress bar's total. */
export function refVolumeSize(o: InstanceContext & {ref: string}): number {
  checkRef(o.ref, ['branch', 'remote-branch', 'tag'])
  return withInstance(o, ({catalog}) => {
    const state = catalog.committed().value
    return state.volumes[resolveDevice(state, o.ref).volume].size
  })
}

export interface ExportImageOptions extends InstanceContext {
  ref: string
  /** A file path, or '-' for stdout. */
  file: string
  force?: boolean
  progress?: TransferProgress
}

export interface ImportImageOptions extends InstanceContext {
  branch: string
  /** A file path, or '-' for stdin. */
  file: string
  /** Bytes into the volume; a multiple of the pool's data block size. */
  offset?: number
  progress?: TransferProgress
}

const waitCell = new Int32Array(new SharedArrayBuffer(4))

function sleepSync(ms: number): void {
  Atomics.wait(waitCell, 0, 0, ms)
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code
}

/** Writes all of buf (at position, or at the descriptor's offset when null). */
function writeAll(fd: number, buf: Uint8Array, position: number | null): void {
  let done = 0
  while (done < buf.length) {
    try {
      done += fs.writeSync(fd, buf, done, buf.length - done, position === null ? null : position + done)
    } catch (error) {
      if (errnoOf(error) !== 'EAGAIN') throw error
      sleepSync(1)
    }
  }
}

/** Fills buf as far as the input goes; returns the bytes read (less only at its end). */
function readFull(fd: number, buf: Buffer): number {
  let done = 0
  while (done < buf.length) {
    let n: number
    try {
      n = fs.readSync(fd, buf, done, buf.length - done, null)
    } catch (error) {
      const code = errnoOf(error)
      if (code === 'EAGAIN') {
        sleepSync(1)
        continue
      }
      if (code === 'EOF') break
      throw error
    }
    if (n === 0) break
    done += n
  }
  return done
}

/** Runs of consecutive mapped virtual blocks: [first, count]. */
function mappedRuns(pool: ThinPool, device: number): [number, number][] {
  const runs: [number, number][] = []
  for (const m of pool.mappings(device, 0)) {
    const last = runs.at(-1)
    if (last && last[0] + last[1] === m.vblock) last[1]++
    else runs.push([m.vblock, 1])
  }
  return runs
}

export function exportImage(o: ExportImageOptions): ExportImageResult {
  checkRef(o.ref, ['branch', 'remote-branch', 'tag'])
  const toStdout = o.file === '-'
  return withInstance(o, ({pool, catalog}) => {
    const state = catalog.committed().value
    const resolved = resolveDevice(state, o.ref)
    const size = state.volumes[resolved.volume].size
    let fd = 1
    if (!toStdout) {
      try {
        fd = fs.openSync(o.file, o.force ? 'w' : 'wx', 0o600)
      } catch (error) {
        if (errnoOf(error) === 'EEXIST') {
          throw new FvmError('conflict', `"${o.file}" already exists`, {hint: 'pass --force to overwrite it, or export to another file'})
        }
        if (errnoOf(error) === 'ENOENT') throw new FvmError('notFound', `no such folder for "${o.file}"`)
        throw error
      }
    }
    const sparse = !toStdout && fs.fstatSync(fd).isFile()
    try {
      const bs = pool.dataBlockSize
      let pos = 0
      let dataBytes = 0
      const hole = (to: number): void => {
        if (!sparse) {
          for (let at = pos; at < to; at += IO_CHUNK) writeAll(fd, zeroChunk().subarray(0, Math.min(IO_CHUNK, to - at)), null)
        }
        pos = to
        o.progress?.update(pos)
      }
      for (const [first, count] of mappedRuns(pool, resolved.device)) {
        const from = first * bs
        if (from >= size) break
        const to = Math.min(size, (first + count) * bs)
        hole(from)
        for (const chunk of readVolumeStream(pool, resolved.device, from, to - from)) {
          writeAll(fd, chunk, sparse ? pos : null)
          pos += chunk.length
          dataBytes += chunk.length
          o.progress?.update(pos)
        }
      }
      hole(size)
      if (sparse) {
        fs.ftruncateSync(fd, size)
        fs.fsyncSync(fd)
      }
      return {ref: resolved.ref, device: resolved.device, bytes: size, dataBytes, holeBytes: size - dataBytes}
    } catch (error) {
      if (!toStdout && !o.force) {
        fs.closeSync(fd)
        fd = 1
        fs.rmSync(o.file, {force: true})
      }
      throw error
    } finally {
      if (fd !== 1) fs.closeSync(fd)
    }
  })
}

/** An image opened for reading. */
export interface ImageInput {
  /** The path as given, or '-' for stdin. */
  file: string
  fd: number
  /** Bytes of a regular file or block device; undefined for a pipe or terminal, read to its end. */
  size: number | undefined
}

/** Opens a file (or stdin for '-') to import; its size when it has one. */
export function openImage(file: string): ImageInput {
  let fd = 0
  if (file !== '-') {
    try {
      fd = fs.openSync(file, 'r')
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') throw new FvmError('notFound', `no such file "${file}"`)
      throw error
    }
  }
  try {
    const stat = fs.fstatSync(fd, {bigint: true})
    if (stat.isDirectory()) throw new FvmError('usage', `"${file}" is a folder, not an image`)
    return {file, fd, size: sizeOf(stat)}
  } catch (error) {
    closeImage({file, fd, size: undefined})
    throw error
  }
}

export function closeImage(input: ImageInput): void {
  if (input.fd !== 0) fs.closeSync(input.fd)
}

/** A regular file's size, or a block device's (fstat says 0 for one: sysfs knows). */
function sizeOf(stat: fs.BigIntStats): number | undefined {
  if (stat.isFile()) return Number(stat.size)
  if (!stat.isBlockDevice()) return undefined
  // glibc's major() and minor() of a dev_t.
  const major = ((stat.rdev >> 8n) & 0xfffn) | ((stat.rdev >> 32n) & ~0xfffn)
  const minor = (stat.rdev & 0xffn) | ((stat.rdev >> 12n) & ~0xffn)
  // In 512-byte units, whatever the device's own sector size.
  const sectors = fs.readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8')
  return Number(sectors.trim()) * 512
}

/** A local branch's device, and the size of its volume: where an import writes. */
export interface ImportTarget {
  ref: string
  device: number
  size: number
}

export function importImage(o: ImportImageOptions): ImportImageResult {
  checkRef(o.branch, ['branch', 'remote-branch', 'tag'])
  const offset = o.offset ?? 0
  if (!Number.isSafeInteger(offset) || offset < 0) throw new FvmError('usage', `invalid offset ${offset}`)
  return withInstance(o, ({pool, catalog}) => {
    const state = catalog.committed().value
    const resolved = resolveDevice(state, o.branch)
    if (!resolved.writable) {
      throw new FvmError('usage', `${resolved.kind === 'tag' ? 'tag' : 'remote branch'} "${resolved.ref}" is read-only`, {
        hint: `import into a local branch (VOLUME/BRANCH); "fvm branch VOLUME/NAME --from ${resolved.ref}" makes one from it`,
      })
    }
    const size = state.volumes[resolved.volume].size
    const bs = pool.dataBlockSize
    if (offset % bs !== 0) throw new FvmError('usage', `offset ${offset} is not a multiple of the pool's data block size (${bs} bytes)`)
    if (offset > size) throw new FvmError('usage', `offset ${offset} is past the end of the volume (${size} bytes)`)
    const input = openImage(o.file)
    try {
      return importInto(pool, {ref: resolved.ref, device: resolved.device, size}, input, offset, o.progress)
    } finally {
      closeImage(input)
    }
  })
}

/**
 * Writes the image into the target from offset (a multiple of the block size, inside the
 * volume) on and commits. Changed blocks go to new data blocks (copy-on-write, unshared
 * ones too): a refusal or failure part way rolls back to the last commit and finds the
 * branch's old bytes where they were. Until the commit the pool needs room for both.
 */
export function importInto(pool: ThinPool, target: ImportTarget, input: ImageInput, offset: number, progress?: TransferProgress): ImportImageResult {
  const {size} = target
  const tooLong = (length: number): FvmError =>
    new FvmError('usage', `the image (${length}${input.size === undefined ? ' or more' : ''} bytes) does not fit in "${target.ref}" at offset ${offset}: the volume has ${size} bytes`, {
      hint: 'grow the volume, or import a smaller image',
    })
  if (input.size !== undefined && offset + input.size > size) throw tooLong(input.size)
  const bs = pool.dataBlockSize
  const result: ImportImageResult = {branch: target.ref, device: target.device, bytesRead: 0, blocksWritten: 0, blocksUnchanged: 0, blocksZeroed: 0}
  const buffer = pageAlignedBuffer(bs)
  const current = pageAlignedBuffer(bs)
  const zeros = Buffer.alloc(bs)
  try {
    for (let at = offset; ; at += bs) {
      const n = readFull(input.fd, buffer)
      if (n === 0) break
      if (at + n > size) throw tooLong(result.bytesRead + n)
      result.bytesRead += n
      const bytes = buffer.subarray(0, n)
      const vblock = at / bs
      const mapped = pool.lookup(target.device, vblock)
      const allZero = bytes.equals(zeros.subarray(0, n))
      let same: boolean
      if (mapped === undefined) same = allZero
      else {
        readData(pool.dataFile, current, mapped.dataBlock * bs)
        same = bytes.equals(current.subarray(0, n))
      }
      if (same) result.blocksUnchanged++
      else if (allZero && n === bs) {
        discardVolume(pool, target.device, at, bs)
        result.blocksZeroed++
      } else {
        writeVolume(pool, target.device, at, bytes, {copyAlways: true})
        result.blocksWritten++
      }
      progress?.update(result.bytesRead)
      if (n < bs) break
    }
  } catch (error) {
    try {
      pool.rollback()
    } catch {
      // A failed commit left the pool as of its last commit; the first error is the one to report.
    }
    throw error
  }
  pool.commit()
  return result
}
