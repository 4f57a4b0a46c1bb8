// Writes bytes into a thin device from a byte offset on, sequentially, as dm-thin does
// for write bios: a block that is mapped and not shared is overwritten in place; any
// other block gets a new data block, mapped at once, whose bytes outside the write are
// copied from the shared block it replaces (copy-on-write) or zeroed, so a reused data
// block never shows what it held before. With copyAlways every mapped block is copied
// too: the new block is one free at the last commit (the space map never hands out a
// block freed since), so a rollback finds every old block's bytes as they were. The
// allocator hands out consecutive blocks, so the bytes of consecutive blocks go to the
// data file in one big pwrite: straight from the caller's buffer when it is large, else
// gathered in a stage of IO_CHUNK.
import {FvmError} from '../../errors.js'
import type {LookupResult, ThinPool} from './thin-pool.js'
import {checkRange, IO_CHUNK, pageAlignedBuffer, readData} from './volume-range.js'

export interface WriteSummary {
  bytesWritten: number
  /** New data blocks mapped: for unmapped blocks and for copies of shared ones. */
  blocksAllocated: number
  /** Of those, blocks written in part whose other bytes were copied from the shared block. */
  blocksCopied: number
}

/** The block being written and where its bytes go. */
interface OpenBlock {
  vblock: number
  dataBlock: number
  /** A new data block: its bytes outside [start, end) must be filled in. */
  fresh: boolean
  /** For a new block, the shared block it replaces (its bytes fill the rest); undefined for zeros. */
  source: number | undefined
  start: number
  end: number
}

/** Caller bytes at least this long go to the file unstaged; to a sink, a block's worth does (see WriteOptions.sink). */
const DIRECT_BYTES = IO_CHUNK / 4

/** Takes data file writes instead of the file's own pwrite: they may finish later (WriteBehind). */
export interface DataSink {
  write(bytes: Buffer, position: number): void
}

export interface WriteOptions {
  /** Copy-on-write for every mapped block, unshared ones too, so rolling back also restores their bytes. */
  copyAlways?: boolean
  /**
   * Where the data bytes go. It gets the caller's own bytes for runs of a block or more
   * (a sink writes in the background, so a copy would cost more than the call), so the
   * caller keeps them unchanged until the sink is done; staged bytes go as a copy.
   * Bytes copied from shared blocks are read directly: a sink never holds writes to
   * those, as this writer only ever writes to blocks it owns.
   */
  sink?: DataSink
}

/** The stage a finished writer left, for the next one (writers in one process take turns). */
let spareStage: Buffer | undefined

export class VolumeWriter {
  private readonly blockSize: number
  private position: number
  private block: OpenBlock | undefined
  /** Taken on first use: a writer of large runs never needs one, and allocating 4 MiB per write call costs GC time. */
  private stageBuffer: Buffer | undefined
  /** Data file position of the stage's first byte. */
  private stageAt = 0
  private staged = 0
  private readonly summary: WriteSummary = {bytesWritten: 0, blocksAllocated: 0, blocksCopied: 0}

  constructor(
    private readonly pool: ThinPool,
    private readonly id: number,
    offset: number,
    private readonly options: WriteOptions = {},
  ) {
    checkRange(offset, 0)
    if (pool.readOnly) throw new FvmError('usage', `pool "${pool.dir}" is open read-only`)
    pool.details(id)
    this.blockSize = pool.dataBlockSize
    this.position = offset
  }

  /** Writes bytes at the current position and moves past them. */
  write(bytes: Uint8Array): void {
    checkRange(this.position, bytes.length)
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const bs = this.blockSize
    // The run: caller bytes [runFrom, done) that land contiguously in the data file at runAt.
    let runFrom = 0
    let runAt = 0
    let done = 0
    while (done < buf.length) {
      const vblock = Math.floor(this.position / bs)
      const inBlock = this.position - vblock * bs
      const block = this.enter(vblock, inBlock)
      const n = Math.min(bs - inBlock, buf.length - done)
      const at = block.dataBlock * bs + inBlock
      if (at !== runAt + (done - runFrom)) {
        this.emit(buf.subarray(runFrom, done), runAt)
        runFrom = done
        runAt = at
      }
      block.end = inBlock + n
      done += n
      this.position += n
    }
    this.emit(buf.subarray(runFrom, done), runAt)
    this.summary.bytesWritten += buf.length
  }

  /** Completes the last block and writes out what is staged. */
  finish(): WriteSummary {
    this.close()
    this.flush()
    if (this.stageBuffer) spareStage = this.stageBuffer
    this.stageBuffer = undefined
    return {...this.summary}
  }

  private get stage(): Buffer {
    if (this.stageBuffer === undefined) {
      this.stageBuffer = spareStage ?? pageAlignedBuffer(IO_CHUNK)
      spareStage = undefined
    }
    return this.stageBuffer
  }

  /** The block at vblock, opened (mapped to a new data block if need be) on first touch. */
  private enter(vblock: number, inBlock: number): OpenBlock {
    if (this.block?.vblock === vblock) return this.block
    this.close()
    const old = this.pool.lookup(this.id, vblock)
    let block: OpenBlock
    if (old !== undefined && !this.mustCopy(old)) {
      block = {vblock, dataBlock: old.dataBlock, fresh: false, source: undefined, start: inBlock, end: inBlock}
    } else {
      const dataBlock = this.pool.allocateDataBlock()
      this.pool.insert(this.id, vblock, dataBlock)
      this.summary.blocksAllocated++
      block = {vblock, dataBlock, fresh: true, source: old?.dataBlock, start: inBlock, end: inBlock}
      this.fill(block, 0, inBlock)
    }
    this.block = block
    return block
  }

  /**
   * The kernel copies a block when the device was snapshotted after the block was
   * mapped (`shared`): the snapshot may reach it through a btree leaf the two still
   * share, whose blocks keep a count of 1 until the leaf is copied, so the count alone
   * misses it. A count above 1 also copies: blocks two devices map without a snapshot
   * between them (a restored dump, a held metadata snapshot) must not change under the
   * other either. Both are cheap: the lookup gave the first, a cached bitmap the second.
   */
  private mustCopy(old: LookupResult): boolean {
    return this.options.copyAlways === true || old.shared || this.pool.dataBlockRefCount(old.dataBlock) > 1
  }

  private close(): void {
    const b = this.block
    if (b === undefined) return
    this.block = undefined
    if (!b.fresh) return
    this.fill(b, b.end, this.blockSize)
    if (b.source !== undefined && (b.start > 0 || b.end < this.blockSize)) this.summary.blocksCopied++
  }

  /**
   * Bytes [from, to) of a new block, from the block it replaces or zeros, through the
   * stage. The source is never a block the stage holds bytes for: those are new blocks
   * or unshared ones, and a source is shared.
   */
  private fill(b: OpenBlock, from: number, to: number): void {
    let at = b.dataBlock * this.blockSize + from
    let source = b.source === undefined ? undefined : b.source * this.blockSize + from
    while (at < b.dataBlock * this.blockSize + to) {
      if (this.staged > 0 && this.stageAt + this.staged !== at) this.flush()
      if (this.staged === 0) this.stageAt = at
      const n = Math.min(b.dataBlock * this.blockSize + to - at, IO_CHUNK - this.staged)
      const into = this.stage.subarray(this.staged, this.staged + n)
      if (source === undefined) into.fill(0)
      else {
        readData(this.pool.dataFile, into, source)
        source += n
      }
      this.staged += n
      at += n
      if (this.staged === IO_CHUNK) this.flush()
    }
  }

  /** Caller bytes for data file position at: appended to the stage, or written directly. */
  private emit(bytes: Buffer, at: number): void {
    const direct = this.options.sink === undefined ? DIRECT_BYTES : this.blockSize
    let i = 0
    while (i < bytes.length) {
      if (this.staged > 0 && this.stageAt + this.staged !== at) this.flush()
      if (this.staged === 0 && bytes.length - i >= direct) {
        this.put(bytes.subarray(i), at, false)
        return
      }
      if (this.staged === 0) this.stageAt = at
      const n = Math.min(bytes.length - i, IO_CHUNK - this.staged)
      bytes.copy(this.stage, this.staged, i, i + n)
      this.staged += n
      i += n
      at += n
      if (this.staged === IO_CHUNK) this.flush()
    }
  }

  private flush(): void {
    if (this.staged === 0) return
    this.put(this.stage.subarray(0, this.staged), this.stageAt, true)
    this.staged = 0
  }

  /** To the sink (a copy of the stage, which is reused) or straight to the file. */
  private put(bytes: Buffer, at: number, isStage: boolean): void {
    const sink = this.options.sink
    if (sink === undefined) this.pool.dataFile.pwrite(bytes, at)
    else sink.write(isStage ? Buffer.from(bytes) : bytes, at)
  }
}
