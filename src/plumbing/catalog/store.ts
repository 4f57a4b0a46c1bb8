// The catalog's transactional store: one JSON value per transaction id, kept in step
// with the dm-thin pool's transaction id by two-phase commit (prepare, pool commit,
// commit). Generic: the catalog model lives elsewhere and is JSON to this file.
//
// On-disk format (all integers little-endian; numbers in format.ts):
//
//   byte 0      header copy 0 (the meaningful part: 512 bytes, the rest of the block zero)
//   byte 4096   header copy 1
//   byte 8192+  records: UTF-8 JSON, each starting on a 4 KiB boundary
//
//   header copy (512 bytes, one sector, so a write of it is atomic on real disks):
//     0   u32   crc32c of bytes 4..511
//     4   8     magic "FVMCATLG"
//     12  u32   format version (1)
//     16  u64   sequence number; header `sequence` is stored in copy `sequence % 2`
//     24  u32   flags: bit 0 = a prepared record is present
//     28  u32   zero
//     32  32    committed record: u64 offset, u64 length, u64 txid, u32 crc32c, u32 zero
//     64  32    prepared record, same layout (zero unless flag bit 0)
//     96  416   zero
//
// Reading takes the valid copy with the highest sequence number; a copy that fails
// its magic or checksum (a torn or lost write) is ignored. A copy whose checksum is
// right but whose content is not (wrong version, slot or offsets) is refused, never
// skipped: falling back past it could silently undo a transaction.
//
// Writing (prepare): truncate dead tail space, write the record where it overlaps no
// live record, fdatasync, then write the header to the copy not written last, fsync.
// Commit and abort write only a header. So the newest durable header and every record
// it names are never overwritten until a newer header is durable, and a torn header
// write leaves the other copy, which names intact records. crc32c (not sha256): the
// threats are torn, lost and stale writes and bit rot, not an adversary; it is the
// dm-thin metadata's checksum and fits the header's fixed fields.
//
// Space: a new record goes at the start of the record area if it fits before the
// committed record, else right after it. Every record then ends below 8 KiB + 3 x the
// largest record written, and prepare cuts the file back to its live records, so it
// also shrinks within a few transactions when the records do.
import path from 'node:path'
import {crc32c} from '../../dm/pdata/crc32c.js'
import {type FileSystem, type PoolFile, nodeFileSystem} from '../../dm/pdata/file-io.js'
import {FvmError} from '../../errors.js'
import {
  HEADER_BYTES,
  HEADER_COPIES,
  type Header,
  RECORDS_START,
  type RecordLocation,
  alignUp,
  decodeHeader,
  encodeHeader,
  headerOffset,
  recordEnd,
} from './format.js'

/** Named steps of the write protocol, so tests can kill the process at each one. */
export const CATALOG_FAILPOINTS = [
  'catalog.afterRecordWrite',
  'catalog.afterRecordSync',
  'catalog.afterHeaderWrite',
  'catalog.afterHeaderSync',
  'catalog.afterRename',
] as const

export type CatalogFailpointName = (typeof CATALOG_FAILPOINTS)[number]
export type CatalogFailpoint = (name: CatalogFailpointName) => void

export interface CatalogStoreOptions {
  /** Defaults to the real file system. */
  fs?: FileSystem
  failpoint?: CatalogFailpoint
}

export interface CatalogRecord<T> {
  txid: number
  value: T
}

/** A record the newest durable header names, with its JSON. */
interface Durable {
  at: RecordLocation
  json: string
}

/** What the newest durable header says. */
interface State {
  sequence: number
  committed: Durable
  prepared?: Durable
}

function checkTxid(txid: number): void {
  if (!Number.isSafeInteger(txid) || txid < 0) throw new RangeError(`bad transaction id ${txid}`)
}

function toJson(value: unknown): string {
  const json = JSON.stringify(value)
  if (json === undefined) throw new TypeError('a catalog value must be JSON-serializable')
  return json
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Runs one I/O step; a failure becomes an error naming the file and the step. */
function io<R>(file: string, what: string, fn: () => R): R {
  try {
    return fn()
  } catch (err) {
    if (err instanceof FvmError) throw err
    throw new FvmError('failure', `catalog "${file}": cannot ${what}: ${messageOf(err)}`, {cause: err})
  }
}

function parse<T>(record: Durable): CatalogRecord<T> {
  return {txid: record.at.txid, value: JSON.parse(record.json) as T}
}

function corrupt(file: string, problem: string): FvmError {
  return new FvmError('corrupt', `catalog "${file}": ${problem}`, {hint: 'run "fvm check"'})
}

function readHeader(file: PoolFile): Header {
  const copies: Header[] = []
  for (let copy = 0; copy < HEADER_COPIES; copy++) {
    const buf = Buffer.alloc(HEADER_BYTES)
    const n = io(file.path, `read header copy ${copy}`, () => file.pread(buf, headerOffset(copy)))
    const decoded = decodeHeader(buf.subarray(0, n), copy)
    if (decoded.ok) copies.push(decoded.header)
    else if (decoded.sealed) throw corrupt(file.path, `header copy ${copy} ${decoded.problem}`)
  }
  if (copies.length === 0) throw corrupt(file.path, 'both headers are damaged')
  return copies.reduce((a, b) => (b.sequence > a.sequence ? b : a))
}

function readRecord(file: PoolFile, role: string, r: RecordLocation): string {
  const what = `${role} record (transaction ${r.txid})`
  const buf = Buffer.alloc(r.length)
  const n = io(file.path, `read the ${what}`, () => file.pread(buf, r.offset))
  if (n < r.length) throw corrupt(file.path, `${what} is cut short: ${n} of ${r.length} bytes`)
  if (crc32c(buf) !== r.checksum) throw corrupt(file.path, `${what} fails its checksum`)
  const text = buf.toString('utf8')
  try {
    JSON.parse(text)
  } catch {
    throw corrupt(file.path, `${what} is not valid JSON`)
  }
  return text
}

/** Where a new record of `length` bytes goes: before the committed one if it fits, else after. */
function placeRecord(committed: RecordLocation, length: number): number {
  return RECORDS_START + alignUp(length) <= committed.offset ? RECORDS_START : recordEnd(committed)
}

const noFailpoint: CatalogFailpoint = () => {}

/** Makes a rename durable: the new directory entry reaches the disk. */
function syncDirectory(fs: FileSystem, dir: string): void {
  const handle = fs.open(dir, 'r')
  try {
    handle.fsync()
  } finally {
    handle.close()
  }
}

export class CatalogStore<T> {
  /** Set while the disk may hold a header the in-memory state does not know (fail-stop). */
  private uncertain = false
  private closed = false

  private constructor(
    readonly path: string,
    private readonly file: PoolFile,
    private state: State,
    private readonly failpoint: CatalogFailpoint,
  ) {}

  /**
   * Creates the catalog holding `value` as committed transaction `txid`. It is built
   * under a temporary name and renamed into place, so a crash leaves no catalog or a
   * whole one.
   */
  static create<T>(file: string, value: T, txid: number, options: CatalogStoreOptions = {}): CatalogStore<T> {
    const fs = options.fs ?? nodeFileSystem
    const failpoint = options.failpoint ?? noFailpoint
    checkTxid(txid)
    const record = Buffer.from(toJson(value), 'utf8')
    if (fs.exists(file)) throw new FvmError('conflict', `catalog "${file}" already exists`)
    const tmp = `${file}.new`
    if (fs.exists(tmp)) io(tmp, 'remove the leftover of an interrupted create', () => fs.unlink(tmp))
    const committed = {offset: RECORDS_START, length: record.length, checksum: crc32c(record), txid}
    const handle = io(tmp, 'create it', () => fs.open(tmp, 'wx'))
    try {
      io(tmp, 'write the first record', () => handle.pwrite(record, RECORDS_START))
      failpoint('catalog.afterRecordWrite')
      // Both copies name the first record, so either may be damaged from the start.
      for (let sequence = 0; sequence < HEADER_COPIES; sequence++) {
        const buf = encodeHeader({sequence, committed})
        io(tmp, 'write a header', () => handle.pwrite(buf, headerOffset(sequence)))
      }
      failpoint('catalog.afterHeaderWrite')
      io(tmp, 'sync it', () => handle.fsync())
      failpoint('catalog.afterHeaderSync')
    } catch (err) {
      handle.close()
      fs.unlink(tmp)
      throw err
    }
    handle.close()
    io(file, `rename "${tmp}" into place`, () => fs.rename(tmp, file))
    failpoint('catalog.afterRename')
    io(file, 'sync its directory', () => syncDirectory(fs, path.dirname(file)))
    return CatalogStore.open(file, options)
  }

  static open<T>(file: string, options: CatalogStoreOptions = {}): CatalogStore<T> {
    const fs = options.fs ?? nodeFileSystem
    if (!fs.exists(file)) throw new FvmError('notFound', `catalog "${file}" does not exist`)
    const handle = io(file, 'open it', () => fs.open(file, 'r+'))
    try {
      const {sequence, committed, prepared} = readHeader(handle)
      const state: State = {sequence, committed: {at: committed, json: readRecord(handle, 'committed', committed)}}
      if (prepared) state.prepared = {at: prepared, json: readRecord(handle, 'prepared', prepared)}
      return new CatalogStore<T>(file, handle, state, options.failpoint ?? noFailpoint)
    } catch (err) {
      handle.close()
      throw err
    }
  }

  /**
   * The committed record, read once through a read-only handle, for readers that take
   * no lock. A writer running meanwhile may overwrite the record the header named: its
   * checksum then fails, so this throws rather than return a torn value.
   */
  static readCommitted<T>(file: string, options: {fs?: FileSystem} = {}): CatalogRecord<T> {
    const fs = options.fs ?? nodeFileSystem
    if (!fs.exists(file)) throw new FvmError('notFound', `catalog "${file}" does not exist`)
    const handle = io(file, 'open it', () => fs.open(file, 'r'))
    try {
      const {committed} = readHeader(handle)
      return parse({at: committed, json: readRecord(handle, 'committed', committed)})
    } finally {
      handle.close()
    }
  }

  committed(): CatalogRecord<T> {
    this.checkUsable()
    return parse(this.state.committed)
  }

  prepared(): CatalogRecord<T> | undefined {
    this.checkUsable()
    return this.state.prepared && parse(this.state.prepared)
  }

  /** Phase one: makes `value` durable as transaction `txid` without committing it. */
  prepare(txid: number, value: T): void {
    this.checkUsable()
    checkTxid(txid)
    const {sequence, committed: current, prepared: pending} = this.state
    if (pending) {
      throw new FvmError('conflict', `catalog "${this.path}": transaction ${pending.at.txid} is already prepared`, {
        hint: 'commit or abort it first',
      })
    }
    const committed = current.at
    if (txid !== committed.txid + 1) {
      throw new FvmError('conflict', `catalog "${this.path}": cannot prepare transaction ${txid} on top of ${committed.txid}`)
    }
    const json = toJson(value)
    const record = Buffer.from(json, 'utf8')
    const prepared = {offset: placeRecord(committed, record.length), length: record.length, checksum: crc32c(record), txid}
    // Space past both live records is dead (no durable header needs it): give it back.
    const liveEnd = Math.max(recordEnd(committed), recordEnd(prepared))
    if (io(this.path, 'read its size', () => this.file.size()) > liveEnd) {
      io(this.path, 'cut off its dead space', () => this.file.truncate(liveEnd))
    }
    io(this.path, `write the record of transaction ${txid}`, () => this.file.pwrite(record, prepared.offset))
    this.failpoint('catalog.afterRecordWrite')
    io(this.path, `sync the record of transaction ${txid}`, () => this.file.fdatasync())
    this.failpoint('catalog.afterRecordSync')
    this.writeHeader({sequence: sequence + 1, committed: current, prepared: {at: prepared, json}})
  }

  /** Phase three: the prepared transaction becomes the committed one. */
  commit(): void {
    const prepared = this.pending('commit')
    this.writeHeader({sequence: this.state.sequence + 1, committed: prepared})
  }

  /** Drops the prepared transaction; the committed one stays. */
  abort(): void {
    this.pending('abort')
    this.writeHeader({sequence: this.state.sequence + 1, committed: this.state.committed})
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.file.close()
  }

  private pending(action: string): Durable {
    this.checkUsable()
    const {prepared} = this.state
    if (!prepared) throw new FvmError('conflict', `catalog "${this.path}": no prepared transaction to ${action}`)
    return prepared
  }

  private checkUsable(): void {
    if (this.closed) throw new Error(`catalog "${this.path}" is closed`)
    if (this.uncertain) {
      throw new FvmError('failure', `catalog "${this.path}": an earlier header write failed, so its state is unknown`, {
        hint: 'open it again',
      })
    }
  }

  /** Writes the new header over the older copy and makes it durable; only then adopts `next`. */
  private writeHeader(next: State): void {
    const {sequence} = next
    const buf = encodeHeader({sequence, committed: next.committed.at, prepared: next.prepared?.at})
    this.uncertain = true
    io(this.path, `write header copy ${sequence % HEADER_COPIES}`, () => this.file.pwrite(buf, headerOffset(sequence)))
    this.failpoint('catalog.afterHeaderWrite')
    io(this.path, `sync header copy ${sequence % HEADER_COPIES}`, () => this.file.fsync())
    this.uncertain = false
    this.state = next
    this.failpoint('catalog.afterHeaderSync')
  }
}
