// Deliberate damage to a pool fvm wrote, judged by both generations of thin_check and
// by ours. Each case damages a fresh copy of the same metadata: a flipped byte in every
// block type (a checksum every checker must catch), and re-sealed damage (a value
// changed and the checksum recomputed) that only the cross-checks can find.
//
// The rule ours follows: its verdict is thin_check 1.x's. Clean when 1.x exits 0; ok
// with leaks when 1.x fails but passes with --ignore-non-fatal-errors; not ok when 1.x
// fails even then. 1.x 1.1.0 counts as a leak only a block nothing references whose
// bitmap says 1; every other reference count mismatch is fatal. It does not look at
// nr_allocated at all, where ours is deliberately stricter (the cases say why).
import fs from 'node:fs'
import path from 'node:path'
import {expect} from 'chai'
import {isLeaf} from '../../src/dm/pdata/btree-node.js'
import {ENTRIES_PER_BITMAP} from '../../src/dm/pdata/space-map-format.js'
import {ThinPool} from '../../src/dm/thin/thin-pool.js'
import {THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {MetadataImage, type Verdict, VerdictTable, verdicts} from './damage-helpers.js'
import {cleanupScratchDirs, metadataPath, scratchDir} from './helpers.js'

/** The middle of a block: far from the csum field, still covered by the checksum. */
const FLIP_AT = 2048

interface DamageCase {
  name: string
  damage: (img: MetadataImage) => void
  /** The real tools' verdicts, as they were observed. */
  v09: Verdict
  v1: Verdict
  /** Where ours knowingly differs from 1.x: its verdict, and why. */
  ours?: {verdict: Verdict; why: string}
  /** The damage breaks a checksum, which ours must name. */
  checksum?: boolean
}

const flipped = (what: string, locate: (img: MetadataImage) => number): DamageCase => ({
  name: `flipped byte in ${what}`,
  damage: (img) => img.flipByte(locate(img), FLIP_AT),
  v09: 'fatal',
  v1: 'fatal',
  checksum: true,
})

const CASES: DamageCase[] = [
  flipped('the superblock', () => 0),
  flipped('a mapping tree leaf', (img) => img.firstLeaf(4)),
  flipped('a mapping tree internal node', (img) => img.deviceRoot(1)),
  flipped('the top-level mapping leaf', (img) => img.sb.dataMappingRoot),
  flipped('the device details leaf', (img) => img.sb.deviceDetailsRoot),
  flipped('data space map bitmap 1', (img) => img.dataBitmap(1)),
  flipped('the data space map index node', (img) => img.sb.dataSpaceMap.bitmapRoot),
  flipped('the data reference count tree', (img) => img.sb.dataSpaceMap.refCountRoot),
  flipped('the metadata space map index block', (img) => img.sb.metadataSpaceMap.bitmapRoot),
  flipped('metadata space map bitmap 0', (img) => img.metadataBitmap(0)),
  flipped('the metadata reference count tree', (img) => img.sb.metadataSpaceMap.refCountRoot),
  {
    name: 'data count too low (2 -> 1)',
    damage: (img) => img.setRefCode('data', img.findRefCode('data', 2), 1),
    v09: 'ok', // 0.9 does not check data counts
    v1: 'fatal',
  },
  {
    name: 'data block leaked (free block counted 1, nr_allocated too)',
    damage: (img) => {
      img.setRefCode('data', img.findRefCode('data', 0), 1)
      img.adjustNrAllocated('data', 1)
    },
    v09: 'ok',
    v1: 'leak',
  },
  // 1.x: a count above the references is fatal unless the block is otherwise free.
  {
    name: 'data count too high on a mapped block (1 -> 2)',
    damage: (img) => img.setRefCode('data', img.mappedDataBlock(4, 0), 2),
    v09: 'ok',
    v1: 'fatal',
  },
  {
    name: 'data count too high in the overflow tree (3 -> 4)',
    damage: (img) => img.setOverflowCount('data', [...img.overflowCounts('data').keys()][0], 4),
    v09: 'ok',
    v1: 'fatal',
  },
  {
    name: 'metadata count too low on a mapping leaf (1 -> 0)',
    damage: (img) => img.setRefCode('metadata', img.firstLeaf(4), 0),
    v09: 'fatal',
    v1: 'fatal',
  },
  {
    name: 'metadata block leaked (free block counted 1, nr_allocated too)',
    damage: (img) => {
      img.setRefCode('metadata', img.findRefCode('metadata', 0), 1)
      img.adjustNrAllocated('metadata', 1)
    },
    v09: 'leak',
    v1: 'leak',
  },
  {
    name: 'metadata count too high on a mapping leaf (1 -> 2)',
    damage: (img) => img.setRefCode('metadata', img.firstLeaf(4), 2),
    v09: 'leak', // 0.9: any count above the expected one is non-fatal
    v1: 'fatal',
  },
  {
    name: 'mapped_blocks one too high',
    damage: (img) => img.adjustMappedBlocks(4, 1),
    v09: 'ok',
    v1: 'fatal',
  },
  {
    name: 'mapped_blocks one too low',
    damage: (img) => img.adjustMappedBlocks(4, -1),
    v09: 'ok',
    v1: 'fatal',
  },
  ...(['data', 'metadata'] as const).flatMap((sm): DamageCase[] => [
    {
      name: `${sm} nr_allocated one too high`,
      damage: (img) => img.adjustNrAllocated(sm, 1),
      v09: 'ok',
      v1: 'ok',
      ours: {verdict: 'leak', why: '1.x ignores nr_allocated; too high only hides free space, which ours calls a leak'},
    },
    {
      name: `${sm} nr_allocated one too low`,
      damage: (img) => img.adjustNrAllocated(sm, -1),
      v09: 'ok',
      v1: 'ok',
      ours: {verdict: 'fatal', why: '1.x ignores nr_allocated; too low makes the kernel promise space there is not, which ours calls damage'},
    },
  ]),
]

describe('dm damage: thin_check 0.9, 1.x and ours on damaged metadata', function () {
  let dir: string
  let pristine: Buffer
  const table = new VerdictTable()
  let failed = false

  before(function () {
    needTools(this, ...THIN_TOOLS)
    dir = scratchDir()
    // Over 2 x 16320 data blocks: three data bitmaps.
    const pool = ThinPool.format(dir, {dataBlocks: 40_000})
    // 20,000 mappings: a mapping tree with an internal root over many leaves.
    pool.createThin(1)
    for (let v = 0; v < 20_000; v++) pool.insert(1, v, pool.allocateDataBlock())
    pool.commit()
    // Two snapshots share device 1's tree; writing to both copies the first leaves, so
    // their data blocks are referenced by three leaves (counts of 3, in the data overflow
    // tree) and device 1's leaves by three internal nodes (the metadata overflow tree).
    pool.createSnap(2, 1)
    pool.createSnap(3, 1)
    for (let v = 0; v < 300; v++) pool.insert(2, v, pool.allocateDataBlock())
    for (let v = 250; v < 260; v++) pool.insert(3, v, pool.allocateDataBlock())
    // A device of its own, whose blocks all have count 1.
    pool.createThin(4)
    for (let v = 0; v < 500; v++) pool.insert(4, v * 3, pool.allocateDataBlock())
    pool.commit()
    pool.close()
    pristine = fs.readFileSync(metadataPath(dir))
  })

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true
  })

  after(() => {
    if (failed) process.stderr.write(`\nverdicts on the damaged files:\n${table}\n\n`)
    cleanupScratchDirs()
  })

  it('starts from a pool every checker passes, holding every block type the cases damage', async () => {
    const v = await verdicts(metadataPath(dir))
    table.add('none', v)
    expect([v.v09, v.v1, v.ours]).to.deep.equal(['ok', 'ok', 'ok'])
    const img = new MetadataImage(pristine)
    expect(img.sb.dataSpaceMap.nrBlocks, 'three data bitmaps').to.be.above(2 * ENTRIES_PER_BITMAP)
    expect(isLeaf(img.block(img.deviceRoot(1))), 'device 1 has an internal root').to.equal(false)
    expect([...img.overflowCounts('data').values()], 'data counts of 3').to.include(3)
    expect(img.overflowCounts('metadata').size, 'metadata counts of 3+').to.be.above(0)
  })

  CASES.forEach((c, i) => {
    it(c.name, async () => {
      const img = new MetadataImage(Buffer.from(pristine))
      c.damage(img)
      const file = path.join(dir, `damaged-${i}`)
      fs.writeFileSync(file, img.bytes)
      const v = await verdicts(file)
      table.add(c.name, v)
      expect(v.v1, `thin_check 1.x:\n${v.output.v1}`).to.equal(c.v1)
      expect(v.v09, `thin_check 0.9:\n${v.output.v09}`).to.equal(c.v09)
      const issues = JSON.stringify(v.report.issues.slice(0, 5))
      if (c.checksum) expect(issues).to.match(/bad checksum/)
      expect(v.ours, `${c.ours?.why ?? 'ours agrees with thin_check 1.x'}: ${issues}`).to.equal(c.ours?.verdict ?? c.v1)
    })
  })
})
