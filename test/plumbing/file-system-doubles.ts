// FileSystem doubles for the catalog tests: a disk that can lose power, and a file
// system that fails one chosen operation.
import type {FileSystem, OpenFlags, PoolFile} from '../../src/dm/pdata/file-io.js'

type PendingOp = {kind: 'write'; position: number; data: Buffer} | {kind: 'truncate'; length: number}

function applyOp(image: Buffer, op: PendingOp): Buffer {
  if (op.kind === 'truncate') {
    const out = Buffer.alloc(op.length)
    image.copy(out, 0, 0, Math.min(image.length, op.length))
    return out
  }
  const out = Buffer.alloc(Math.max(image.length, op.position + op.data.length))
  image.copy(out)
  op.data.copy(out, op.position)
  return out
}

/**
 * What part of one unsynced operation reached the platter: none of it, all of it, or
 * (for a write) a torn piece, mid-sector or at sector bounds, from either end.
 */
function outcomes(op: PendingOp): (PendingOp | undefined)[] {
  if (op.kind === 'truncate') return [undefined, op]
  const n = op.data.length
  const cuts = [1, 256, 512, Math.floor(n / 2 / 512) * 512, n - 512, n - 1].filter((k) => k > 0 && k < n)
  const torn = [...new Set(cuts)].flatMap((k): PendingOp[] => [
    {kind: 'write', position: op.position, data: op.data.subarray(0, k)},
    {kind: 'write', position: op.position + k, data: op.data.subarray(k)},
  ])
  return [undefined, op, ...torn]
}

class SimulatedFile {
  durable: Buffer
  current: Buffer
  pending: PendingOp[] = []

  constructor(content: Buffer) {
    this.durable = Buffer.from(content)
    this.current = Buffer.from(content)
  }

  apply(op: PendingOp): void {
    this.current = applyOp(this.current, op)
    this.pending.push(op)
  }

  sync(): void {
    this.durable = Buffer.from(this.current)
    this.pending = []
  }
}

/**
 * An in-memory disk with a volatile write cache: writes and truncates are seen at
 * once but reach the disk only at fsync or fdatasync. crashImages lists what a file
 * may hold after a power cut now.
 */
export class SimulatedDisk implements FileSystem {
  private readonly files = new Map<string, SimulatedFile>()

  constructor(contents: Record<string, Buffer> = {}) {
    for (const [path, data] of Object.entries(contents)) this.files.set(path, new SimulatedFile(data))
  }

  open(path: string, flags: OpenFlags): PoolFile {
    let file = this.files.get(path)
    if (flags === 'wx') {
      if (file) throw Object.assign(new Error(`EEXIST: file already exists, open '${path}'`), {code: 'EEXIST'})
      file = new SimulatedFile(Buffer.alloc(0))
      this.files.set(path, file)
    }
    if (!file) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), {code: 'ENOENT'})
    const f = file
    return {
      path,
      pread(buf, position) {
        const n = Math.max(0, Math.min(buf.length, f.current.length - position))
        f.current.copy(buf, 0, position, position + n)
        return n
      },
      pwrite: (buf, position) => f.apply({kind: 'write', position, data: Buffer.from(buf)}),
      truncate: (length) => f.apply({kind: 'truncate', length}),
      fsync: () => f.sync(),
      fdatasync: () => f.sync(),
      size: () => f.current.length,
      close: () => {},
    }
  }

  rename(from: string, to: string): void {
    const file = this.files.get(from)
    if (!file) throw new Error(`ENOENT: no such file or directory, rename '${from}'`)
    this.files.delete(from)
    this.files.set(to, file)
  }

  unlink(path: string): void {
    this.files.delete(path)
  }

  exists(path: string): boolean {
    return this.files.has(path)
  }

  /** Every content the file can have after a power cut: each unsynced op lost, whole or torn. */
  crashImages(path: string): Buffer[] {
    const file = this.files.get(path)
    if (!file) throw new Error(`no file "${path}"`)
    let images = [file.durable]
    for (const op of file.pending) {
      images = images.flatMap((image) => outcomes(op).map((o) => (o ? applyOp(image, o) : image)))
    }
    return images
  }
}

export type FaultyOp = 'pwrite' | 'sync' | 'truncate'

export interface Fault {
  op: FaultyOp
  /** Fail the nth such operation (1-based). */
  nth: number
  /** For pwrite: before failing, write the first half of the buffer or its first 40 bytes. */
  torn?: 'half' | 'head'
}

function eio(what: string): Error {
  return Object.assign(new Error(`EIO: i/o error, ${what}`), {code: 'EIO'})
}

/** Passes everything to `inner`, counting operations, and fails the one `fault` names. */
export class FaultyFileSystem implements FileSystem {
  readonly counts: Record<FaultyOp, number> = {pwrite: 0, sync: 0, truncate: 0}

  constructor(
    private readonly inner: FileSystem,
    private readonly fault?: Fault,
  ) {}

  private hits(op: FaultyOp): boolean {
    this.counts[op]++
    return this.fault?.op === op && this.fault.nth === this.counts[op]
  }

  open(path: string, flags: OpenFlags): PoolFile {
    const file = this.inner.open(path, flags)
    return {
      path,
      pread: (buf, position) => file.pread(buf, position),
      pwrite: (buf, position) => {
        if (this.hits('pwrite')) {
          const torn = this.fault?.torn
          if (torn) file.pwrite(buf.subarray(0, torn === 'half' ? buf.length >> 1 : 40), position)
          throw eio('write')
        }
        file.pwrite(buf, position)
      },
      fsync: () => {
        if (this.hits('sync')) throw eio('fsync')
        file.fsync()
      },
      fdatasync: () => {
        if (this.hits('sync')) throw eio('fdatasync')
        file.fdatasync()
      },
      truncate: (length) => {
        if (this.hits('truncate')) throw eio('ftruncate')
        file.truncate(length)
      },
      size: () => file.size(),
      close: () => file.close(),
    }
  }

  rename(from: string, to: string): void {
    this.inner.rename(from, to)
  }

  unlink(path: string): void {
    this.inner.unlink(path)
  }

  exists(path: string): boolean {
    return this.inner.exists(path)
  }
}
