// The one small file interface all pool I/O goes through. Synchronous on purpose:
// Node's sync fs calls are faster for 4 KiB block I/O and keep the btree code simple.
// Tests swap in fault-injecting implementations.
import fs from 'node:fs'
import {promisify} from 'node:util'

export interface PoolFile {
  readonly path: string
  /** Reads into buf at a byte position; returns the number of bytes read (short at end of file). */
  pread(buf: Buffer, position: number): number
  /** Writes all of buf at a byte position. */
  pwrite(buf: Buffer, position: number): void
  fsync(): void
  fdatasync(): void
  /**
   * Vectored pwrite (the buffers back to back from position) and fdatasync on the thread
   * pool, for a caller that keeps working (reading the network) while the disk catches
   * up. Optional: callers fall back to the sync calls.
   */
  pwritevAsync?(buffers: Buffer[], position: number): Promise<void>
  /** pread for a sender, on the thread pool where that pays: reads that skip the page cache. */
  preadAsync?(buf: Buffer, position: number): Promise<number>
  fdatasyncAsync?(): Promise<void>
  size(): number
  truncate(length: number): void
  close(): void
}

export type OpenFlags = 'r' | 'r+' | 'wx'

export interface FileSystem {
  /** 'wx' creates a new file for reading and writing (failing if it exists), mode 0600 whatever the umask. */
  open(path: string, flags: OpenFlags): PoolFile
  rename(from: string, to: string): void
  unlink(path: string): void
  exists(path: string): boolean
}

const FILE_MODE = 0o600
/** What O_DIRECT wants aligned: memory, position and length, in pages. */
export const DIRECT_IO_ALIGNMENT = 4096
// The callback forms: fs.promises goes through a FileHandle, which only adds cost here.
/** Cached writes up to this size are done on the calling thread (pwritevAsync). */
const CACHED_AT_ONCE_BYTES = 256 * 1024
const fsWritev = promisify(fs.writev)
const fsRead = promisify(fs.read)
const fsFdatasync = promisify(fs.fdatasync)

class NodePoolFile implements PoolFile {
  constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly writable: boolean,
  ) {}

  /** A second descriptor of the file, for O_DIRECT I/O; null where that cannot be had. */
  private directFd: number | null | undefined
  /** O_DIRECT failed with EINVAL once: everything goes through the cache from then on. */
  private directRefused = false

  pread(buf: Buffer, position: number): number {
    let done = 0
    while (done < buf.length) {
      const n = fs.readSync(this.fd, buf, done, buf.length - done, position + done)
      if (n === 0) break
      done += n
    }
    return done
  }

  pwrite(buf: Buffer, position: number): void {
    this.pwritev([buf], position)
  }

  private pwritev(buffers: Buffer[], position: number): void {
    let rest = buffers
    let at = position
    while (rest.length > 0) {
      const written = fs.writevSync(this.fd, rest, at)
      at += written
      rest = afterBytes(rest, written)
    }
  }

  fsync(): void {
    fs.fsyncSync(this.fd)
  }

  fdatasync(): void {
    fs.fdatasyncSync(this.fd)
  }

  /**
   * Page-aligned buffers at a page-aligned position bypass the page cache (O_DIRECT):
   * straight to the disk, several times faster here than dirtying pages for writeback
   * to clean, and no copy. Anything else, or a file system that refuses, is written
   * through the cache; either way the commit's fdatasync is what makes it durable. A
   * small cached write is done at once: its copy costs less than a thread pool round
   * trip, whose completion would also wait for the caller to yield to the event loop.
   */
  async pwritevAsync(buffers: Buffer[], position: number): Promise<void> {
    const direct = position % DIRECT_IO_ALIGNMENT === 0 && buffers.every(directlyUsable)
    const fd = direct ? this.direct() : undefined
    if (fd === undefined && byteLength(buffers) <= CACHED_AT_ONCE_BYTES) {
      this.pwritev(buffers, position)
      return
    }
    let rest = buffers
    let at = position
    while (rest.length > 0) {
      let written: number
      try {
        ;({bytesWritten: written} = await fsWritev(fd ?? this.fd, rest, at))
      } catch (error) {
        if (fd === undefined || (error as NodeJS.ErrnoException).code !== 'EINVAL') throw error
        // The memory was not aligned after all, or the file system wants other sizes: cached from now on.
        this.directRefused = true
        return this.pwritevAsync(rest, at)
      }
      at += written
      rest = afterBytes(rest, written)
    }
  }

  /**
   * Page-aligned reads bypass the page cache (O_DIRECT) too: the disk fills the buffer
   * itself, where a cached read costs a CPU copy (the sender's biggest cost after the
   * checksum). The kernel writes back any dirty cached pages of the range first. Other
   * reads are cached and done at once: the copy costs less than a thread pool round trip.
   */
  async preadAsync(buf: Buffer, position: number): Promise<number> {
    const fd = directlyUsable(buf) && position % DIRECT_IO_ALIGNMENT === 0 ? this.direct() : undefined
    if (fd === undefined) return this.pread(buf, position)
    let done = 0
    while (done < buf.length) {
      let n: number
      try {
        ;({bytesRead: n} = await fsRead(fd, buf, done, buf.length - done, position + done))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error
        this.directRefused = true
        return done + this.pread(buf.subarray(done), position + done)
      }
      if (n === 0) break
      done += n
    }
    return done
  }

  /** The O_DIRECT descriptor, opened on first use; undefined where O_DIRECT is not to be had. */
  private direct(): number | undefined {
    if (this.directRefused) return undefined
    if (this.directFd === undefined) {
      try {
        this.directFd = fs.openSync(this.path, (this.writable ? fs.constants.O_RDWR : fs.constants.O_RDONLY) | fs.constants.O_DIRECT)
      } catch {
        this.directFd = null
      }
    }
    return this.directFd ?? undefined
  }

  fdatasyncAsync(): Promise<void> {
    return fsFdatasync(this.fd)
  }

  size(): number {
    return fs.fstatSync(this.fd).size
  }

  truncate(length: number): void {
    fs.ftruncateSync(this.fd, length)
  }

  close(): void {
    if (typeof this.directFd === 'number') fs.closeSync(this.directFd)
    fs.closeSync(this.fd)
  }
}

/** What O_DIRECT takes: whole pages, from memory that starts on a page (a resizable ArrayBuffer's does). */
function directlyUsable(buf: Buffer): boolean {
  const memory = buf.buffer as ArrayBuffer & {resizable?: boolean}
  return memory.resizable === true && buf.byteOffset % DIRECT_IO_ALIGNMENT === 0 && buf.length % DIRECT_IO_ALIGNMENT === 0 && buf.length > 0
}

function byteLength(buffers: Buffer[]): number {
  return buffers.reduce((sum, b) => sum + b.length, 0)
}

/** What is left of buffers once n bytes of them are written. */
function afterBytes(buffers: Buffer[], n: number): Buffer[] {
  let skip = n
  let i = 0
  while (i < buffers.length && skip >= buffers[i].length) skip -= buffers[i++].length
  return i === buffers.length ? [] : [buffers[i].subarray(skip), ...buffers.slice(i + 1)]
}

export const nodeFileSystem: FileSystem = {
  open(path, flags) {
    const fd = fs.openSync(path, flags === 'wx' ? 'wx+' : flags, FILE_MODE)
    if (flags === 'wx') fs.fchmodSync(fd, FILE_MODE)
    return new NodePoolFile(path, fd, flags !== 'r')
  },
  rename: (from, to) => fs.renameSync(from, to),
  unlink: (path) => fs.unlinkSync(path),
  exists: (path) => fs.existsSync(path),
}
