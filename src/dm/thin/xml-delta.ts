// Writes thin_delta's XML, byte for byte as either tool generation prints it, from the
// ranges where two thin devices agree or differ. Ranges may be split anywhere (even per
// block); the writer merges them the way each generation does:
// - plain output: adjacent ranges of one kind merge, whatever their data blocks;
// - 0.9 --verbose: they merge only while the data blocks continue too;
// - 1.x --verbose: they merge like plain output, keeping the first range's data blocks.
// Consecutive ranges of one kind share a <same>/<different>/... group in --verbose.
import type {SuperblockIr} from './xml-ir.js'
import type {TextSink} from './xml-emit.js'

/** Thin blocks [begin, begin+length) mapped by only one device, or by both to the same data. */
export interface DeltaDataRange {
  kind: 'same' | 'left_only' | 'right_only'
  begin: number
  length: number
  dataBegin: number
}

/** Thin blocks [begin, begin+length) that both devices map, to different data blocks. */
export interface DeltaDifferentRange {
  kind: 'different'
  begin: number
  length: number
  leftDataBegin: number
  rightDataBegin: number
}

export type DeltaRange = DeltaDataRange | DeltaDifferentRange

export type ToolGeneration = 'v0.9' | 'v1'

export interface DeltaXmlOptions {
  generation: ToolGeneration
  verbose: boolean
}

export class DeltaXmlWriter {
  private readonly sink: TextSink
  private readonly options: DeltaXmlOptions
  private readonly flushAt: number
  private out = ''
  private pending: DeltaRange | undefined
  /** The kind whose --verbose group is open. */
  private group: DeltaRange['kind'] | undefined

  constructor(sink: TextSink, options: DeltaXmlOptions, flushAt = 1 << 16) {
    this.sink = sink
    this.options = options
    this.flushAt = flushAt
  }

  /** Opens the document for a diff of thin devices `left` and `right`. */
  begin(sb: SuperblockIr, left: number, right: number): void {
    // Both print an empty uuid and no version; 0.9 shows a held metadata snapshot, 1.x needs_check.
    const flags = this.options.generation === 'v1' && (sb.flags & 1) !== 0 ? ' flags="1"' : ''
    const snap = this.options.generation === 'v0.9' && sb.metadataSnap ? ` metadata_snap="${sb.metadataSnap}"` : ''
    this.out += `<superblock uuid="" time="${sb.time}" transaction="${sb.transaction}"${flags} ` +
      `data_block_size="${sb.dataBlockSize}" nr_data_blocks="${sb.nrDataBlocks}"${snap}>\n` +
      `  <diff left="${left}" right="${right}">\n`
  }

  /** Adds the next range; ranges must come in ascending, non-overlapping order. */
  range(next: Readonly<DeltaRange>): void {
    const cur = this.pending
    if (cur && cur.kind === next.kind && next.begin === cur.begin + cur.length && this.merges(cur, next)) {
      cur.length += next.length
      return
    }
    if (cur) this.write(cur)
    this.pending = {...next}
  }

  end(): void {
    if (this.pending) this.write(this.pending)
    this.pending = undefined
    if (this.group) this.out += `    </${this.group}>\n`
    this.group = undefined
    // 1.x's XML writer ends without a newline.
    this.out += this.options.generation === 'v1' ? '  </diff>\n</superblock>' : '  </diff>\n</superblock>\n'
    this.sink(this.out)
    this.out = ''
  }

  private merges(cur: DeltaRange, next: Readonly<DeltaRange>): boolean {
    if (!this.options.verbose || this.options.generation === 'v1') return true
    if (cur.kind === 'different' && next.kind === 'different') {
      return next.leftDataBegin === cur.leftDataBegin + cur.length &&
        next.rightDataBegin === cur.rightDataBegin + cur.length
    }
    return cur.kind !== 'different' && next.kind !== 'different' && next.dataBegin === cur.dataBegin + cur.length
  }

  private write(r: DeltaRange): void {
    if (!this.options.verbose) {
      this.out += `    <${r.kind} begin="${r.begin}" length="${r.length}"/>\n`
    } else {
      if (this.group !== r.kind) {
        if (this.group) this.out += `    </${this.group}>\n`
        this.out += `    <${r.kind}>\n`
        this.group = r.kind
      }
      this.out += r.kind === 'different'
        ? `      <range begin="${r.begin}" left_data_begin="${r.leftDataBegin}" ` +
          `right_data_begin="${r.rightDataBegin}" length="${r.length}"/>\n`
        : `      <range begin="${r.begin}" data_begin="${r.dataBegin}" length="${r.length}"/>\n`
    }
    if (this.out.length >= this.flushAt) {
      this.sink(this.out)
      this.out = ''
    }
  }
}
