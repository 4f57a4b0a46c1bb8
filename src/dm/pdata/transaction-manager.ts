// Copy-on-write access to metadata blocks within one transaction. A block the
// committed superblock can reach is never written: changing it means shadowing it
// (a copy in a new block, one reference less on the original). A block this
// transaction made, and that nothing shares, is changed in place.
import {type BlockCache, type BlockKind, corrupt} from './block-cache.js'
import type {BlockStore, Shadow} from './btree-types.js'
import type {MetadataSpaceMap} from './space-map-metadata.js'

export class TransactionManager implements BlockStore {
  constructor(
    readonly cache: BlockCache,
    readonly sm: MetadataSpaceMap,
  ) {}

  read(b: number, kind: BlockKind): Buffer {
    return this.cache.read(b, kind)
  }

  newBlock(kind: BlockKind, data?: Buffer): {block: number; data: Buffer} {
    const block = this.sm.allocate()
    return {block, data: this.cache.create(block, kind, data)}
  }

  shadow(b: number, kind: BlockKind): Shadow {
    const count = this.sm.count(b)
    if (count === 0) throw corrupt(b, `${kind.name} is referenced but free in the space map`)
    if (count === 1 && this.sm.isNew(b)) return {block: b, data: this.cache.writable(b, kind), incChildren: false}
    const copy = Buffer.from(this.cache.read(b, kind))
    const block = this.sm.allocate()
    this.cache.create(block, kind, copy)
    this.sm.dec(b)
    return {block, data: copy, incChildren: count > 1}
  }

  inc(b: number): void {
    this.sm.inc(b)
  }

  dec(b: number): void {
    this.sm.dec(b)
  }

  refCount(b: number): number {
    return this.sm.count(b)
  }

  trim(): void {
    this.cache.trim()
  }
}
