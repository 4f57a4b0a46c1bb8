// The sender walks a delta once to count its extents for the stream header, and sends
// the extents it kept from that walk; past the limit it walks again. Either way the
// stream carries exactly what a fresh walk yields, and the counts add up to it.
import {expect} from 'chai'
import {randomBytes} from 'node:crypto'
import {ThinPool} from '../../src/dm/thin/thin-pool.js'
import {discardVolume, writeVolume} from '../../src/dm/thin/volume-io.js'
import {type ExtentSource, extentsToSend, planExtents, planFewExtents} from '../../src/plumbing/replicate/send.js'
import {cleanupScratchDirs, scratchDir} from '../dm/helpers.js'

const BLOCK = 64 * 1024

describe('the extents a stream sends', () => {
  let pool: ThinPool
  let source: ExtentSource

  before(() => {
    pool = ThinPool.format(scratchDir(), {dataBlocks: 512})
    pool.createThin(1)
    for (let block = 0; block < 200; block++) writeVolume(pool, 1, block * BLOCK, randomBytes(BLOCK))
    pool.createSnap(2, 1)
    // Changes, unmappings and a run of new blocks after the base.
    for (const block of [3, 4, 5, 40, 77, 150]) writeVolume(pool, 1, block * BLOCK, randomBytes(BLOCK))
    discardVolume(pool, 1, 100 * BLOCK, 10 * BLOCK)
    for (let block = 210; block < 230; block++) writeVolume(pool, 1, block * BLOCK, randomBytes(BLOCK))
    pool.createSnap(3, 1)
    source = {pool, base: 2, target: 3, size: 256 * BLOCK, resumeFrom: 0}
  })
  after(() => {
    pool.close()
    cleanupScratchDirs()
  })

  for (const keep of [Infinity, 2]) {
    it(`are those a fresh walk yields, kept or walked again (keep ${keep})`, () => {
      const walked = [...extentsToSend(source)]
      expect(walked.some((e) => e.kind === 'zero')).to.equal(true)
      expect(walked.length).to.be.above(2)
      const planned = planExtents(source, keep)
      expect([...planned.extents()]).to.deep.equal(walked)
      expect(planned.counts).to.deep.equal({
        extents: walked.length,
        dataBytes: walked.filter((e) => e.kind === 'data').reduce((sum, e) => sum + e.length, 0),
        zeroBytes: walked.filter((e) => e.kind === 'zero').reduce((sum, e) => sum + e.length, 0),
      })
    })
  }

  it('are walked early only when few: past the most asked for, the walk gives up', () => {
    const walked = [...extentsToSend(source)]
    expect(planFewExtents(source, walked.length - 1)).to.equal(undefined)
    const few = planFewExtents(source, walked.length)
    expect(few?.counts.extents).to.equal(walked.length)
    expect([...few!.extents()]).to.deep.equal(walked)
  })
})
