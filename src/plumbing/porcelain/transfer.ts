// Raw images in and out of volumes, for the porcelain. Export writes a branch's, tag's or
// remote branch's bytes, with holes where nothing is mapped (zeros on a pipe). Import
// writes only the blocks whose content differs from what the branch holds and unmaps
// all-zero ones, so a slightly changed image keeps the rest shared with tags and push
// bases; it is one pool commit (no catalog change: the transaction id stays).
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

function openInput(file: string): number {
  if (file === '-') return 0
  try {
    return fs.openSync(file, 'r')
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') throw new FvmError('notFound', `no such file "${file}"`)
    throw error
  }
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
    const tooLong = (length: number): FvmError =>
      new FvmError('usage', `the image (${length}${o.file === '-' ? ' or more' : ''} bytes) does not fit in "${resolved.ref}" at offset ${offset}: the volume has ${size} bytes`, {
        hint: 'grow the volume, or import a smaller image',
      })
    const fd = openInput(o.file)
    try {
      const stat = fs.fstatSync(fd)
      if (stat.isFile() && offset + stat.size > size) throw tooLong(stat.size)
      const result: ImportImageResult = {branch: resolved.ref, device: resolved.device, bytesRead: 0, blocksWritten: 0, blocksUnchanged: 0, blocksZeroed: 0}
      const input = pageAlignedBuffer(bs)
      const current = pageAlignedBuffer(bs)
      const zeros = Buffer.alloc(bs)
      try {
        for (let at = offset; ; at += bs) {
          const n = readFull(fd, input)
          if (n === 0) break
          if (at + n > size) throw tooLong(result.bytesRead + n)
          result.bytesRead += n
          const bytes = input.subarray(0, n)
          const vblock = at / bs
          const mapped = pool.lookup(resolved.device, vblock)
          const allZero = bytes.equals(zeros.subarray(0, n))
          let same: boolean
          if (mapped === undefined) same = allZero
          else {
            readData(pool.dataFile, current, mapped.dataBlock * bs)
            same = bytes.equals(current.subarray(0, n))
          }
          if (same) result.blocksUnchanged++
          else if (allZero && n === bs) {
            discardVolume(pool, resolved.device, at, bs)
            result.blocksZeroed++
          } else {
            writeVolume(pool, resolved.device, at, bytes)
            result.blocksWritten++
          }
          o.progress?.update(result.bytesRead)
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
    } finally {
      if (fd !== 0) fs.closeSync(fd)
    }
  })
}
