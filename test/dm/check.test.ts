import fs from 'node:fs'
import path from 'node:path'
import {expect} from 'chai'
import {keyAt, setKey, setNrEntries, valueOffset, childAt, isLeaf} from '../../src/dm/pdata/btree-node.js'
import {SALT, sealBlock} from '../../src/dm/pdata/crc32c.js'
import {bitmapGet, bitmapSet} from '../../src/dm/pdata/space-map-format.js'
import {checkMetadata, type CheckReport} from '../../src/dm/thin/check.js'
import {decodeSuperblock} from '../../src/dm/thin/superblock.js'
import {ThinPool} from '../../src/dm/thin/thin-pool.js'
import {THIN_TOOLS, thinTools} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {checkPool, cleanupScratchDirs, metadataPath, scratchDir} from './helpers.js'

/** A metadata image in memory, with ways to find and damage its blocks. */
class Image {
  constructor(readonly bytes: Buffer) {}

  block(b: number): Buffer {
    return this.bytes.subarray(b * 4096, (b + 1) * 4096)
  }

  get sb() {
    return decodeSuperblock(this.block(0))
  }

  /** The leaf holding entry key of the single-leaf tree under root, and the entry's index. */
  leafEntry(root: number, key: number): {leaf: number; index: number} {
    const node = this.block(root)
    for (let i = 0; i < node.readUInt32LE(16); i++) if (keyAt(node, i) === key) return {leaf: root, index: i}
    throw new Error(`no key ${key} in block ${root}`)
  }

  deviceRoot(id: number): number {
    const {leaf, index} = this.leafEntry(this.sb.dataMappingRoot, id)
    return this.block(leaf).readUInt32LE(valueOffset(this.block(leaf), index))
  }

  /** The device's leftmost leaf (not its root). */
  firstLeaf(id: number): number {
    let b = this.deviceRoot(id)
    while (!isLeaf(this.block(b))) b = childAt(this.block(b), 0)
    return b
  }

  firstDataBitmap(): number {
    const index = this.block(this.sb.dataSpaceMap.bitmapRoot)
    return index.readUInt32LE(valueOffset(index, 0))
  }

  metadataBitmap(): number {
    return this.block(this.sb.metadataSpaceMap.bitmapRoot).readUInt32LE(16)
  }

  seal(b: number, salt: number): void {
    sealBlock(this.block(b), salt)
  }
}

describe('dm check', function () {
  let dir: string
  let pristine: Buffer

  before(function () {
    needTools(this, ...THIN_TOOLS)
    dir = scratchDir()
    const pool = ThinPool.format(dir, {dataBlocks: 2000})
    pool.createThin(1)
    for (let v = 0; v < 600; v++) pool.insert(1, v, pool.allocateDataBlock())
    pool.createSnap(2, 1)
    for (let v = 0; v < 50; v++) pool.insert(2, v, pool.allocateDataBlock())
    pool.commit()
    pool.close()
    pristine = fs.readFileSync(metadataPath(dir))
  })
  after(cleanupScratchDirs)

  /** Damages a copy of the pristine image and checks it with ours and with thin_check 1.x. */
  function damaged(damage: (img: Image) => void): CheckReport {
    const img = new Image(Buffer.from(pristine))
    damage(img)
    const file = path.join(dir, `damaged-${Math.random().toString(36).slice(2)}`)
    fs.writeFileSync(file, img.bytes)
    const report = checkMetadata(file)
    expect(thinTools.check(file, 'v1').status, 'thin_check 1.x agrees it is damaged').to.not.equal(0)
    return report
  }

  function expectFatal(report: CheckReport, message: RegExp): void {
    expect(report.ok).to.equal(false)
    expect(report.issues.filter((i) => i.fatal).map((i) => i.message)).to.satisfy((ms: string[]) => ms.some((m) => message.test(m)))
  }

  it('finds nothing in a healthy pool that thin_check accepts', () => {
    checkPool(dir)
    expect(checkMetadata(metadataPath(dir))).to.deep.include({ok: true, clean: true, fatal: 0, leaks: 0, devices: 3, mappings: 1200})
  })

  it('reports a bad checksum', () => {
    const report = damaged((img) => {
      img.block(img.firstLeaf(1))[100] ^= 1
    })
    expectFatal(report, /bad checksum/)
  })

  it('reports keys out of order', () => {
    const report = damaged((img) => {
      const b = img.firstLeaf(1)
      setKey(img.block(b), 3, 1)
      img.seal(b, SALT.btreeNode)
    })
    expectFatal(report, /keys out of order/)
  })

  it('reports an underfull node, and the mappings and references it loses', () => {
    const report = damaged((img) => {
      const b = img.firstLeaf(2)
      setNrEntries(img.block(b), 10)
      img.seal(b, SALT.btreeNode)
    })
    expectFatal(report, /too few entries/)
    expectFatal(report, /thin device 2: mapped_blocks is 600/)
  })

  it('reports a mapping beyond the data device', () => {
    const report = damaged((img) => {
      const b = img.firstLeaf(1)
      const node = img.block(b)
      node.writeUInt32LE(5000, valueOffset(node, 7) + 4)
      img.seal(b, SALT.btreeNode)
    })
    expectFatal(report, /beyond the 2000 data blocks/)
  })

  it('reports a wrong mapped_blocks', () => {
    const report = damaged((img) => {
      const {leaf, index} = img.leafEntry(img.sb.deviceDetailsRoot, 1)
      img.block(leaf).writeUInt32LE(599, valueOffset(img.block(leaf), index))
      img.seal(leaf, SALT.btreeNode)
    })
    expectFatal(report, /thin device 1: mapped_blocks is 599, but it has 600 mappings/)
  })

  it('reports a data reference count too low as fatal, too high as a leak', () => {
    const low = damaged((img) => {
      const bm = img.firstDataBitmap()
      expect(bitmapGet(img.block(bm), 100)).to.equal(2)
      bitmapSet(img.block(bm), 100, 1)
      img.seal(bm, SALT.bitmap)
    })
    expectFatal(low, /data block 100: reference count 1, but 2 references/)
    const high = damaged((img) => {
      const bm = img.firstDataBitmap()
      bitmapSet(img.block(bm), 1000, 1)
      img.seal(bm, SALT.bitmap)
      const sb = img.block(0)
      sb.writeUInt32LE(sb.readUInt32LE(64 + 8) + 1, 64 + 8)
      img.seal(0, SALT.superblock)
    })
    expect(high).to.deep.include({ok: true, clean: false, fatal: 0})
    expect(high.issues.map((i) => i.message)).to.include('data block 1000: reference count 1, but nothing references it (leaked)')
  })

  it('reports a metadata block that is in use but counted free', () => {
    const report = damaged((img) => {
      const bm = img.metadataBitmap()
      const leaf = img.firstLeaf(1)
      bitmapSet(img.block(bm), leaf, 0)
      img.seal(bm, SALT.bitmap)
    })
    expectFatal(report, /metadata block \d+: reference count 0, but 1 references/)
  })
})
