// Reads, validates and caches 4 KiB metadata blocks, and writes dirty ones back.
// Every block is sealed (own block number at byte 8, then the checksum) as it is
// written. Eviction only happens in trim(), which callers run between operations, so
// a buffer an operation holds stays valid for the whole operation. Dirty blocks may be
// written early on eviction: they are new blocks that the committed superblock cannot
// reach, so that is safe before the commit.
import {FvmError} from '../../errors.js'
import {hasValidChecksum, sealBlock} from './crc32c.js'
import type {PoolFile} from './file-io.js'
import {readU64, writeU64} from './u64.js'

export const BLOCK_SIZE = 4096

export interface BlockKind {
  readonly name: string
  readonly salt: number
  /** Structural checks on a block just read from disk: a problem, or undefined. */
  readonly check?: (block: Buffer) => string | undefined
}

interface Entry {
  data: Buffer
  kind: BlockKind
  dirty: boolean
  hot: boolean
}

/** At most this many blocks go into one pwrite. */
const MAX_WRITE_BLOCKS = 256

export const DEFAULT_CACHE_BLOCKS = 8192

export class BlockCache {
  private readonly entries = new Map<number, Entry>()

  constructor(
    private readonly file: PoolFile,
    /** Blocks the space map manages; nothing at or past it may be read. */
    readonly nrBlocks: number,
    private readonly capacity = DEFAULT_CACHE_BLOCKS,
  ) {}

  /** The block's content, validated against its kind when it comes from disk. Read only. */
  read(b: number, kind: BlockKind): Buffer {
    const e = this.entries.get(b)
    if (e) {
      if (e.kind !== kind) throw corrupt(b, `expected a ${kind.name}, found a ${e.kind.name}`)
      e.hot = true
      return e.data
    }
    const data = this.load(b, kind)
    this.entries.set(b, {data, kind, dirty: false, hot: false})
    return data
  }

  /** The block's content, to be modified in place (it must belong to this transaction). */
  writable(b: number, kind: BlockKind): Buffer {
    const data = this.read(b, kind)
    const e = this.entries.get(b)!
    e.dirty = true
    return data
  }

  /** Installs new content for block b (zeroed if none is given) and returns it, dirty. */
  create(b: number, kind: BlockKind, data: Buffer = Buffer.alloc(BLOCK_SIZE)): Buffer {
    this.entries.set(b, {data, kind, dirty: true, hot: true})
    return data
  }

  /** Seals and writes one block immediately (the superblock, written last). */
  writeNow(b: number, kind: BlockKind, data: Buffer): void {
    seal(b, kind, data)
    this.file.pwrite(data, b * BLOCK_SIZE)
    this.entries.set(b, {data, kind, dirty: false, hot: true})
  }

  /** Writes every dirty block, in block order, coalescing neighbours into big writes. */
  flush(): void {
    const dirty: number[] = []
    for (const [b, e] of this.entries) if (e.dirty) dirty.push(b)
    this.writeBlocks(dirty)
  }

  /** Evicts down to capacity (second chance for recently used blocks); dirty victims are written first. */
  trim(): void {
    if (this.entries.size <= this.capacity) return
    const target = Math.floor((this.capacity * 7) / 8)
    const victims: number[] = []
    let size = this.entries.size
    for (const [b, e] of this.entries) {
      if (size <= target) break
      if (e.hot) {
        e.hot = false
        this.entries.delete(b)
        this.entries.set(b, e)
        continue
      }
      victims.push(b)
      size--
    }
    this.writeBlocks(victims.filter((b) => this.entries.get(b)!.dirty))
    for (const b of victims) this.entries.delete(b)
  }

  /** Forgets everything, dirty blocks included (transaction abort). */
  clear(): void {
    this.entries.clear()
  }

  private load(b: number, kind: BlockKind): Buffer {
    if (!Number.isInteger(b) || b < 0 || b >= this.nrBlocks) {
      throw corrupt(b, `${kind.name} pointer beyond the end of the metadata (${this.nrBlocks} blocks)`)
    }
    const data = Buffer.allocUnsafe(BLOCK_SIZE)
    if (this.file.pread(data, b * BLOCK_SIZE) !== BLOCK_SIZE) throw corrupt(b, 'beyond the end of the metadata file')
    if (!hasValidChecksum(data, kind.salt)) throw corrupt(b, `bad checksum (expected a ${kind.name})`)
    const stored = readU64(data, 8)
    if (stored !== b) throw corrupt(b, `${kind.name} claims to be block ${stored}`)
    const problem = kind.check?.(data)
    if (problem !== undefined) throw corrupt(b, `${kind.name}: ${problem}`)
    return data
  }

  private writeBlocks(blocks: number[]): void {
    blocks.sort((x, y) => x - y)
    let i = 0
    while (i < blocks.length) {
      let j = i + 1
      while (j < blocks.length && j - i < MAX_WRITE_BLOCKS && blocks[j] === blocks[j - 1] + 1) j++
      const run = j - i
      const out = run === 1 ? undefined : Buffer.allocUnsafe(run * BLOCK_SIZE)
      for (let k = i; k < j; k++) {
        const e = this.entries.get(blocks[k])!
        seal(blocks[k], e.kind, e.data)
        e.dirty = false
        if (out) e.data.copy(out, (k - i) * BLOCK_SIZE)
      }
      this.file.pwrite(out ?? this.entries.get(blocks[i])!.data, blocks[i] * BLOCK_SIZE)
      i = j
    }
  }
}

function seal(b: number, kind: BlockKind, data: Buffer): void {
  writeU64(data, 8, b)
  sealBlock(data, kind.salt)
}

export function corrupt(b: number, what: string): FvmError {
  return new FvmError('corrupt', `metadata block ${b}: ${what}`)
}
