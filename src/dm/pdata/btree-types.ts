// What a btree needs from its surroundings: a codec for its leaf values, and a block
// store that reads, allocates and shadows metadata blocks with reference counts.
import type {BlockKind} from './block-cache.js'

export interface ValueType<V> {
  /** Bytes per value on disk: 8, 24, 16 or 4 in the thin-pool trees. */
  readonly size: number
  read(node: Buffer, offset: number): V
  write(node: Buffer, offset: number, value: V): void
  /** Takes one more reference on what each value points at (a shared leaf was copied): all at once, so a space map can batch them. */
  incAll?(values: V[]): void
  /** Drops the reference each value holds (their leaf is freed by a whole-tree delete): all at once, as incAll. */
  decAll?(values: V[]): void
}

export interface BlockReader {
  read(b: number, kind: BlockKind): Buffer
}

export interface Shadow {
  block: number
  data: Buffer
  /** The original was shared: the copy's children each need one more reference. */
  incChildren: boolean
}

export interface BlockStore extends BlockReader {
  /** A new block with count 1, holding data (zeroes if none), writable until commit. */
  newBlock(kind: BlockKind, data?: Buffer): {block: number; data: Buffer}
  /** A writable version of b: b itself if this transaction made it and nothing shares it, else a copy. */
  shadow(b: number, kind: BlockKind): Shadow
  inc(b: number): void
  dec(b: number): void
  refCount(b: number): number
  /** Lets the block cache shrink; only called where no writable buffer is held. */
  trim(): void
}
