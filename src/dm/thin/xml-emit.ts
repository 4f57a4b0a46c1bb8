// Writes metadata events as the exact text thin_dump 0.9 prints, which is also the
// portable profile both tool generations restore: no XML declaration, flags and version
// always present, no def/ref, and maximal runs. thin_dump 1.x output differs (no flags
// attribute when 0, no final newline, def/ref for leaves shared between devices).
import type {DeviceIr, MappingRun, MetadataVisitor, SuperblockIr} from './xml-ir.js'

/** Receives the output in order; chunks are about `flushAt` characters long. */
export type TextSink = (chunk: string) => void

const ATTRIBUTE_ESCAPES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '"': '&quot;'}

export class MetadataXmlWriter implements MetadataVisitor {
  private readonly sink: TextSink
  private readonly flushAt: number
  private out = ''
  // The run being extended: thin_dump merges while origin+1, data+1 and time are equal.
  private runLength = 0
  private runOrigin = 0
  private runData = 0
  private runTime = 0

  constructor(sink: TextSink, flushAt = 1 << 16) {
    this.sink = sink
    this.flushAt = flushAt
  }

  superblockBegin(sb: SuperblockIr): void {
    // metadata_snap is left out as thin_dump does: 0.9 restore of it fails thin_check.
    const uuid = sb.uuid.replace(/[&<"]/g, (c) => ATTRIBUTE_ESCAPES[c])
    this.out += `<superblock uuid="${uuid}" time="${sb.time}" transaction="${sb.transaction}" ` +
      `flags="${sb.flags}" version="${sb.version}" data_block_size="${sb.dataBlockSize}" ` +
      `nr_data_blocks="${sb.nrDataBlocks}">\n`
  }

  deviceBegin(dev: DeviceIr): void {
    this.out += `  <device dev_id="${dev.devId}" mapped_blocks="${dev.mappedBlocks}" ` +
      `transaction="${dev.transaction}" creation_time="${dev.creationTime}" snap_time="${dev.snapTime}">\n`
  }

  mapping(run: Readonly<MappingRun>): void {
    const length = this.runLength
    if (length > 0 && run.originBegin === this.runOrigin + length && run.dataBegin === this.runData + length &&
      run.time === this.runTime) {
      this.runLength += run.length
      return
    }
    if (length > 0) this.writeRun()
    this.runOrigin = run.originBegin
    this.runData = run.dataBegin
    this.runLength = run.length
    this.runTime = run.time
  }

  deviceEnd(): void {
    if (this.runLength > 0) this.writeRun()
    this.runLength = 0
    this.out += '  </device>\n'
    if (this.out.length >= this.flushAt) this.flush()
  }

  superblockEnd(): void {
    this.out += '</superblock>\n'
    this.flush()
  }

  private writeRun(): void {
    this.out += this.runLength === 1
      ? `    <single_mapping origin_block="${this.runOrigin}" data_block="${this.runData}" time="${this.runTime}"/>\n`
      : `    <range_mapping origin_begin="${this.runOrigin}" data_begin="${this.runData}" ` +
        `length="${this.runLength}" time="${this.runTime}"/>\n`
    if (this.out.length >= this.flushAt) this.flush()
  }

  private flush(): void {
    if (this.out.length === 0) return
    this.sink(this.out)
    this.out = ''
  }
}
