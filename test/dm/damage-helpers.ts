// Finding blocks of a dm-thin metadata image by walking it from the superblock (format
// reference §2–§5), damaging them, and collecting every checker's verdict on the result.
import {spawn} from 'node:child_process'
import {BLOCK_SIZE} from '../../src/dm/pdata/block-cache.js'
import {childAt, isLeaf, keyAt, lowerBound, nrEntries, valueOffset} from '../../src/dm/pdata/btree-node.js'
import {SALT, sealBlock} from '../../src/dm/pdata/crc32c.js'
import {bitmapGet, bitmapSet, ENTRIES_PER_BITMAP} from '../../src/dm/pdata/space-map-format.js'
import {readU64, writeU64} from '../../src/dm/pdata/u64.js'
import {checkMetadata, type CheckReport} from '../../src/dm/thin/check.js'
import {decodeSuperblock, type Superblock} from '../../src/dm/thin/superblock.js'
import {pdataTools} from '../support/tools.js'

export type SpaceMapName = 'data' | 'metadata'

/** Superblock offsets of the two sm_roots (§2), and of nr_allocated within one (§2.1). */
const SM_ROOT_OFFSET: Record<SpaceMapName, number> = {data: 64, metadata: 192}
const NR_ALLOCATED = 8
/** The metadata index block: a 16-byte header, then 16-byte index entries (§5.4). */
const METADATA_INDEX_HEADER = 16
const INDEX_ENTRY_SIZE = 16
/** A block_time value holds the data block above its 24 time bits (§4.2). */
const TIME_BITS = 2 ** 24

/** A metadata file in memory: blocks found by walking the structures, and ways to damage them. */
export class MetadataImage {
  constructor(readonly bytes: Buffer) {}

  block(b: number): Buffer {
    return this.bytes.subarray(b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE)
  }

  get sb(): Superblock {
    return decodeSuperblock(this.block(0))
  }

  /** The leaf holding key in the tree under root, and the key's index in it. */
  leafEntry(root: number, key: number): {leaf: number; index: number} {
    let b = root
    while (!isLeaf(this.block(b))) b = childAt(this.block(b), Math.max(0, lowerBound(this.block(b), key)))
    const index = lowerBound(this.block(b), key)
    if (index < 0 || keyAt(this.block(b), index) !== key) throw new Error(`no key ${key} in the tree under block ${root}`)
    return {leaf: b, index}
  }

  /** Where the value for key sits in the tree under root: its leaf, and the value's byte offset there. */
  valueAt(root: number, key: number): {leaf: number; offset: number} {
    const {leaf, index} = this.leafEntry(root, key)
    return {leaf, offset: valueOffset(this.block(leaf), index)}
  }

  lookupU64(root: number, key: number): number {
    const {leaf, offset} = this.valueAt(root, key)
    return readU64(this.block(leaf), offset)
  }

  deviceRoot(id: number): number {
    return this.lookupU64(this.sb.dataMappingRoot, id)
  }

  /** The device's leftmost mapping leaf. */
  firstLeaf(id: number): number {
    let b = this.deviceRoot(id)
    while (!isLeaf(this.block(b))) b = childAt(this.block(b), 0)
    return b
  }

  /** The data block the device maps vblock to. */
  mappedDataBlock(id: number, vblock: number): number {
    return Math.floor(this.lookupU64(this.deviceRoot(id), vblock) / TIME_BITS)
  }

  dataBitmap(i: number): number {
    return this.lookupU64(this.sb.dataSpaceMap.bitmapRoot, i)
  }

  metadataBitmap(i: number): number {
    return readU64(this.block(this.sb.metadataSpaceMap.bitmapRoot), METADATA_INDEX_HEADER + INDEX_ENTRY_SIZE * i)
  }

  /** The 2-bit bitmap code of block b (3: the count is in the overflow tree). */
  refCode(sm: SpaceMapName, b: number): number {
    return bitmapGet(this.block(this.bitmapOf(sm, b)), b % ENTRIES_PER_BITMAP)
  }

  /** Rewrites the bitmap code of block b and re-seals the bitmap, so only the count is wrong. */
  setRefCode(sm: SpaceMapName, b: number, code: number): void {
    const bitmap = this.block(this.bitmapOf(sm, b))
    bitmapSet(bitmap, b % ENTRIES_PER_BITMAP, code)
    sealBlock(bitmap, SALT.bitmap)
  }

  /** The first block of space map sm whose bitmap code is code. */
  findRefCode(sm: SpaceMapName, code: number): number {
    const nrBlocks = (sm === 'data' ? this.sb.dataSpaceMap : this.sb.metadataSpaceMap).nrBlocks
    for (let b = 0; b < nrBlocks; b++) if (this.refCode(sm, b) === code) return b
    throw new Error(`no ${sm} block has bitmap code ${code}`)
  }

  /** Entries of an overflow (reference count) tree: block -> count. */
  overflowCounts(sm: SpaceMapName): Map<number, number> {
    const counts = new Map<number, number>()
    const root = sm === 'data' ? this.sb.dataSpaceMap.refCountRoot : this.sb.metadataSpaceMap.refCountRoot
    const visit = (b: number) => {
      const node = this.block(b)
      for (let i = 0; i < nrEntries(node); i++) {
        if (isLeaf(node)) counts.set(keyAt(node, i), node.readUInt32LE(valueOffset(node, i)))
        else visit(childAt(node, i))
      }
    }
    visit(root)
    return counts
  }

  /** Rewrites block b's count in the overflow tree and re-seals that leaf. */
  setOverflowCount(sm: SpaceMapName, b: number, count: number): void {
    const root = sm === 'data' ? this.sb.dataSpaceMap.refCountRoot : this.sb.metadataSpaceMap.refCountRoot
    const {leaf, offset} = this.valueAt(root, b)
    this.block(leaf).writeUInt32LE(count, offset)
    sealBlock(this.block(leaf), SALT.btreeNode)
  }

  /** Changes the mapped_blocks of a device by delta and re-seals its details leaf. */
  adjustMappedBlocks(id: number, delta: number): void {
    const {leaf, offset} = this.valueAt(this.sb.deviceDetailsRoot, id)
    const node = this.block(leaf)
    writeU64(node, offset, readU64(node, offset) + delta)
    sealBlock(node, SALT.btreeNode)
  }

  nrAllocated(sm: SpaceMapName): number {
    return readU64(this.block(0), SM_ROOT_OFFSET[sm] + NR_ALLOCATED)
  }

  /** Changes the superblock's nr_allocated of space map sm by delta and re-seals it. */
  adjustNrAllocated(sm: SpaceMapName, delta: number): void {
    writeU64(this.block(0), SM_ROOT_OFFSET[sm] + NR_ALLOCATED, this.nrAllocated(sm) + delta)
    sealBlock(this.block(0), SALT.superblock)
  }

  /** Flips bits of one byte without re-sealing, so the block's checksum no longer matches. */
  flipByte(b: number, offset: number): void {
    this.block(b)[offset] ^= 0x5a
  }

  private bitmapOf(sm: SpaceMapName, b: number): number {
    const i = Math.floor(b / ENTRIES_PER_BITMAP)
    return sm === 'data' ? this.dataBitmap(i) : this.metadataBitmap(i)
  }
}

/**
 * What a checker makes of a file: ok (nothing to report), leak (only non-fatal findings:
 * thin_check exits non-zero, but 0 with --ignore-non-fatal-errors; ours ok but not
 * clean), or fatal.
 */
export type Verdict = 'ok' | 'leak' | 'fatal'

export interface Verdicts {
  v09: Verdict
  v1: Verdict
  ours: Verdict
  report: CheckReport
  /** Exit statuses as strict/lenient, and the tools' output, for the table. */
  detail: {v09: string; v1: string}
  output: {v09: string; v1: string}
}

interface ToolRun {
  status: number
  output: string
}

function runTool(cmd: string, args: string[]): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args)
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    child.on('error', reject)
    child.on('close', (status) => resolve({status: status ?? -1, output}))
  })
}

function toolVerdict(strict: ToolRun, lenient: ToolRun): Verdict {
  if (strict.status === 0) return 'ok'
  return lenient.status === 0 ? 'leak' : 'fatal'
}

function ourVerdict(report: CheckReport): Verdict {
  if (report.clean) return 'ok'
  return report.ok ? 'leak' : 'fatal'
}

const LENIENT = '--ignore-non-fatal-errors'

/** Every checker's verdict on one metadata file; the tools run side by side (1.x is slow to start). */
export async function verdicts(file: string): Promise<Verdicts> {
  const [v09, v09Lenient, v1, v1Lenient] = await Promise.all([
    runTool('thin_check', [file]),
    runTool('thin_check', [LENIENT, file]),
    runTool(pdataTools, ['thin_check', file]),
    runTool(pdataTools, ['thin_check', LENIENT, file]),
  ])
  const report = checkMetadata(file)
  return {
    v09: toolVerdict(v09, v09Lenient),
    v1: toolVerdict(v1, v1Lenient),
    ours: ourVerdict(report),
    report,
    detail: {v09: `${v09.status}/${v09Lenient.status}`, v1: `${v1.status}/${v1Lenient.status}`},
    output: {v09: v09.output, v1: v1.output},
  }
}

/** A plain-text table of verdicts, one row per damaged file. */
export class VerdictTable {
  private readonly rows: string[] = []

  add(name: string, v: Verdicts): void {
    const ours = v.ours === 'ok' ? 'ok' : `${v.ours} (fatal ${v.report.fatal}, leaks ${v.report.leaks})`
    this.rows.push(`${name.padEnd(64)} ${`${v.v09} ${v.detail.v09}`.padEnd(14)} ${`${v.v1} ${v.detail.v1}`.padEnd(14)} ${ours}`)
  }

  toString(): string {
    const header = `${'damage'.padEnd(64)} ${'0.9 (exit)'.padEnd(14)} ${'1.x (exit)'.padEnd(14)} ours`
    const note = 'exit = thin_check status / with --ignore-non-fatal-errors'
    return [header, ...this.rows, note].join('\n')
  }
}
