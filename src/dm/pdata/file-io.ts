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
   * pwrite and fdatasync on the thread pool, for a caller that keeps working (reading
   * the network) while the disk catches up. Optional: callers fall back to the sync calls.
   */
  pwriteAsync?(buf: Buffer, position: number): Promise<void>
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
const fsWrite = promisify(fs.write)
const fsFdatasync = promisify(fs.fdatasync)

class NodePoolFile implements PoolFile {
  constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  /** A second descriptor of the file, for O_DIRECT writes; null where that cannot be had. */
  private directFd: number | null | undefined

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
    let done = 0
    while (done < buf.length) done += fs.writeSync(this.fd, buf, done, buf.length - done, position + done)
  }

  fsync(): void {
    fs.fsyncSync(this.fd)
  }

  fdatasync(): void {
    fs.fdatasyncSync(this.fd)
  }

  /**
   * Page-aligned bytes at a page-aligned position bypass the page cache (O_DIRECT):
   * straight to the disk, several times faster here than dirtying pages for writeback
   * to clean, and no copy. Anything else, or a file system that refuses, is written
   * through the cache; either way the commit's fdatasync is what makes it durable.
   */
  async pwriteAsync(buf: Buffer, position: number): Promise<void> {
    const fd = directlyWritable(buf, position) ? (this.directFd ?? this.openDirect()) : undefined
    let done = 0
    while (done < buf.length) {
      let written: number
      try {
        ;({bytesWritten: written} = await fsWrite(fd ?? this.fd, buf, done, buf.length - done, position + done))
      } catch (error) {
        if (fd === undefined || (error as NodeJS.ErrnoException).code !== 'EINVAL') throw error
        // The memory was not aligned after all, or the file system wants other sizes: cached from now on.
        this.directFd = null
        return this.pwriteAsync(buf, position)
      }
      done += written
    }
  }

  private openDirect(): number | undefined {
    if (this.directFd === undefined) {
      try {
        this.directFd = fs.openSync(this.path, fs.constants.O_WRONLY | fs.constants.O_DIRECT)
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
function directlyWritable(buf: Buffer, position: number): boolean {
  const memory = buf.buffer as ArrayBuffer & {resizable?: boolean}
  return memory.resizable === true && buf.byteOffset % DIRECT_IO_ALIGNMENT === 0 && buf.length % DIRECT_IO_ALIGNMENT === 0 && position % DIRECT_IO_ALIGNMENT === 0 && buf.length > 0
}

export const nodeFileSystem: FileSystem = {
  open(path, flags) {
    const fd = fs.openSync(path, flags === 'wx' ? 'wx+' : flags, FILE_MODE)
    if (flags === 'wx') fs.fchmodSync(fd, FILE_MODE)
    return new NodePoolFile(path, fd)
  },
  rename: (from, to) => fs.renameSync(from, to),
  unlink: (path) => fs.unlinkSync(path),
  exists: (path) => fs.existsSync(path),
}
