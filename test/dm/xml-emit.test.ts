import {expect} from 'chai'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {MetadataXmlWriter} from '../../src/dm/thin/xml-emit.js'
import {parseMetadataXml} from '../../src/dm/thin/xml-parse.js'
import {THIN_TOOLS, assertThinCheckPasses, thinTools} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {
  type Scenario, type ScenarioOptions, type XmlStyle, ScenarioRecorder, generateScenario, restoreXml, scenarioXml,
  sharingViolations, totalMappedBlocks,
} from '../support/xml-scenarios.js'

/** Parses `xml` and writes it back out through our emitter, streaming event by event. */
function reemit(xml: string, flushAt?: number): string {
  const chunks: string[] = []
  parseMetadataXml([Buffer.from(xml)], new MetadataXmlWriter((chunk) => chunks.push(chunk), flushAt))
  return chunks.join('')
}

function parseToModel(xml: string): Scenario {
  const recorder = new ScenarioRecorder()
  parseMetadataXml([Buffer.from(xml)], recorder)
  return recorder.scenario()
}

function emit(scenario: Scenario): string {
  let out = ''
  const writer = new MetadataXmlWriter((chunk) => {
    out += chunk
  })
  writer.superblockBegin(scenario.superblock)
  for (const dev of scenario.devices) {
    writer.deviceBegin(dev.info)
    for (const run of dev.runs) writer.mapping(run)
    writer.deviceEnd()
  }
  writer.superblockEnd()
  return out
}

// What thin_dump 0.9 prints for formats.md's example, verified with the real tool.
const EXAMPLE = `<superblock uuid="" time="1" transaction="2" flags="0" version="2" data_block_size="128" nr_data_blocks="16384">
  <device dev_id="0" mapped_blocks="3" transaction="1" creation_time="0" snap_time="1">
    <range_mapping origin_begin="0" data_begin="0" length="2" time="0"/>
    <single_mapping origin_block="2" data_block="5" time="1"/>
  </device>
  <device dev_id="1" mapped_blocks="3" transaction="1" creation_time="1" snap_time="1">
    <range_mapping origin_begin="0" data_begin="0" length="3" time="0"/>
  </device>
  <device dev_id="2" mapped_blocks="0" transaction="1" creation_time="1" snap_time="1">
  </device>
</superblock>
`

describe('xml-emit', () => {
  it('prints what thin_dump 0.9 prints', () => {
    expect(reemit(EXAMPLE)).to.equal(EXAMPLE)
    expect(reemit(EXAMPLE, 1)).to.equal(EXAMPLE)
  })

  it('merges runs only while origin, data and time all continue', () => {
    const scenario = parseToModel(EXAMPLE)
    scenario.devices[0].runs = [
      {originBegin: 0, dataBegin: 10, length: 1, time: 0}, {originBegin: 1, dataBegin: 11, length: 3, time: 0},
      {originBegin: 4, dataBegin: 14, length: 1, time: 1}, // time changes
      {originBegin: 6, dataBegin: 15, length: 1, time: 1}, // origin gap
      {originBegin: 7, dataBegin: 17, length: 2, time: 1}, // data gap
      {originBegin: 9, dataBegin: 19, length: 1, time: 1},
    ]
    expect(emit(scenario).split('\n').slice(2, 7)).to.deep.equal([
      '    <range_mapping origin_begin="0" data_begin="10" length="4" time="0"/>',
      '    <single_mapping origin_block="4" data_block="14" time="1"/>',
      '    <single_mapping origin_block="6" data_block="15" time="1"/>',
      '    <range_mapping origin_begin="7" data_begin="17" length="3" time="1"/>',
      '  </device>',
    ])
  })

  it('escapes the uuid and leaves metadata_snap out, as thin_dump never prints it', () => {
    const scenario = parseToModel(EXAMPLE)
    scenario.superblock = {...scenario.superblock, uuid: 'a&b<"c', metadataSnap: 5}
    expect(emit(scenario).split('\n')[0]).to.equal('<superblock uuid="a&amp;b&lt;&quot;c" time="1" transaction="2" ' +
      'flags="0" version="2" data_block_size="128" nr_data_blocks="16384">')
  })

  it('streams millions of mappings in bounded chunks', () => {
    let chars = 0
    let largest = 0
    const writer = new MetadataXmlWriter((chunk) => {
      chars += chunk.length
      largest = Math.max(largest, chunk.length)
    })
    writer.superblockBegin({uuid: '', time: 1, transaction: 1, flags: 0, version: 2, dataBlockSize: 128, nrDataBlocks: 1e9})
    writer.deviceBegin({devId: 0, mappedBlocks: 1e6, transaction: 0, creationTime: 0, snapTime: 0})
    for (let i = 0; i < 1e6; i++) writer.mapping({originBegin: 2 * i, dataBegin: i, length: 1, time: 0})
    writer.deviceEnd()
    writer.superblockEnd()
    expect(chars).to.be.above(6e7)
    expect(largest).to.be.below(70_000)
  })

  describe('against the real tools', function () {
    let dir: string

    before(function () {
      needTools(this, ...THIN_TOOLS)
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fvm-xml-emit-'))
    })

    after(() => {
      if (dir) fs.rmSync(dir, {recursive: true, force: true})
    })

    /**
     * generated XML → thin_restore (0.9 and 1.x) → thin_check → thin_dump (0.9 and 1.x) →
     * our parser gives the model; our emitter reproduces thin_dump 0.9 byte for byte, and
     * its output restores (both generations) to metadata that dumps the same again.
     */
    function roundTrip(options: ScenarioOptions, style: XmlStyle): void {
      const scenario = generateScenario(options)
      expect(sharingViolations(scenario)).to.deep.equal([])
      const blocks = totalMappedBlocks(scenario)
      const xml = scenarioXml(scenario, style)
      // 0.9 knows nothing of <def>.
      const restorers = style.defs ? (['v1'] as const) : (['v0.9', 'v1'] as const)
      for (const gen of restorers) {
        const meta = restoreXml(xml, gen, dir, blocks)
        assertThinCheckPasses(meta)
        const dump09 = thinTools.dump(meta, 'v0.9')
        const dump1 = thinTools.dump(meta, 'v1')
        expect(dump09.status, dump09.stderr).to.equal(0)
        expect(dump1.status, dump1.stderr).to.equal(0)
        expect(parseToModel(dump09.stdout), `0.9 dump of ${gen} restore`).to.deep.equal(scenario)
        expect(parseToModel(dump1.stdout), `1.x dump of ${gen} restore`).to.deep.equal(scenario)
        expect(reemit(dump09.stdout)).to.equal(dump09.stdout)
        expect(reemit(dump1.stdout), `1.x dump of ${gen} restore, re-emitted`).to.equal(dump09.stdout)
        if (style.defs) expect(dump1.stdout).to.contain('<def name=')
        fs.rmSync(meta)
      }
      const ours = emit(scenario)
      for (const gen of ['v0.9', 'v1'] as const) {
        const meta = restoreXml(ours, gen, dir, blocks)
        assertThinCheckPasses(meta)
        expect(thinTools.dump(meta, 'v0.9').stdout, `0.9 dump after ${gen} restore of ours`).to.equal(ours)
        fs.rmSync(meta)
      }
    }

    for (let seed = 1; seed <= 6; seed++) {
      const style: XmlStyle = [{}, {splitRuns: true}, {noise: true}][seed % 3]
      it(`round-trips random scenario ${seed} (${JSON.stringify(style)})`, () => {
        roundTrip({seed, origins: 1 + (seed % 3), snapshots: seed, blocksPerOrigin: 500 * seed, deletes: seed % 2}, {
          ...style, seed,
        })
      })
    }

    it('round-trips 1.x <def>/<ref> dumps of shared leaves', () => {
      roundTrip({seed: 7, origins: 2, snapshots: 4, blocksPerOrigin: 5000, churn: 0.05}, {defs: true, seed: 7})
    })

    it('round-trips a scenario of over 100,000 mappings (btrees several levels deep)', function () {
      this.timeout(300_000)
      const options = {seed: 8, origins: 2, snapshots: 3, blocksPerOrigin: 40_000, maxWrite: 4, churn: 0.3}
      const scenario = generateScenario(options)
      expect(scenario.devices.reduce((n, d) => n + d.runs.length, 0)).to.be.above(100_000)
      roundTrip(options, {splitRuns: true})
    })
  })
})
