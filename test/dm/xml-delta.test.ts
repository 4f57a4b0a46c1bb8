import {expect} from 'chai'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {type DeltaRange, type DeltaXmlOptions, DeltaXmlWriter} from '../../src/dm/thin/xml-delta.js'
import type {MappingRun, SuperblockIr} from '../../src/dm/thin/xml-ir.js'
import {THIN_TOOLS, thinTools} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {
  type Scenario, type ScenarioDevice, generateScenario, restoreXml, scenarioXml, seededRandom, totalMappedBlocks,
} from '../support/xml-scenarios.js'

/** The test oracle: compares two devices block by block and reports one range per block. */
function blockDelta(left: MappingRun[], right: MappingRun[]): DeltaRange[] {
  const blocks = (runs: MappingRun[]) => {
    const map = new Map<number, number>()
    for (const run of runs) for (let i = 0; i < run.length; i++) map.set(run.originBegin + i, run.dataBegin + i)
    return map
  }
  const l = blocks(left)
  const r = blocks(right)
  const origins = [...new Set([...l.keys(), ...r.keys()])].sort((a, b) => a - b)
  return origins.map((begin): DeltaRange => {
    const ld = l.get(begin)
    const rd = r.get(begin)
    if (ld === undefined) return {kind: 'right_only', begin, length: 1, dataBegin: rd!}
    if (rd === undefined) return {kind: 'left_only', begin, length: 1, dataBegin: ld}
    if (ld === rd) return {kind: 'same', begin, length: 1, dataBegin: ld}
    return {kind: 'different', begin, length: 1, leftDataBegin: ld, rightDataBegin: rd}
  })
}

function deltaXml(sb: SuperblockIr, left: ScenarioDevice, right: ScenarioDevice, options: DeltaXmlOptions): string {
  let out = ''
  const writer = new DeltaXmlWriter((chunk) => {
    out += chunk
  }, options, 100)
  writer.begin(sb, left.info.devId, right.info.devId)
  for (const range of blockDelta(left.runs, right.runs)) writer.range(range)
  writer.end()
  return out
}

const SB: SuperblockIr = {uuid: '', time: 1, transaction: 1, flags: 0, version: 2, dataBlockSize: 128, nrDataBlocks: 1000}

function device(devId: number, runs: [number, number, number][]): ScenarioDevice {
  return {
    info: {devId, mappedBlocks: runs.reduce((n, [, , length]) => n + length, 0), transaction: 1, creationTime: 0, snapTime: 0},
    runs: runs.map(([originBegin, dataBegin, length]) => ({originBegin, dataBegin, length, time: 0})),
  }
}

// Left maps 0-4 → 100-104 and 5-9 → 200-204; right maps 0-9 → 50-59.
const LEFT = device(0, [[0, 100, 5], [5, 200, 5]])
const RIGHT = device(1, [[0, 50, 10]])

describe('xml-delta', () => {
  it('prints plain ranges: adjacent ranges of one kind merge whatever their data', () => {
    for (const generation of ['v0.9', 'v1'] as const) {
      const end = generation === 'v1' ? '</superblock>' : '</superblock>\n'
      expect(deltaXml(SB, LEFT, RIGHT, {generation, verbose: false})).to.equal(
        '<superblock uuid="" time="1" transaction="1" data_block_size="128" nr_data_blocks="1000">\n' +
        '  <diff left="0" right="1">\n' +
        '    <different begin="0" length="10"/>\n' +
        `  </diff>\n${end}`)
    }
  })

  it('prints 0.9 --verbose ranges, split where the data blocks jump', () => {
    expect(deltaXml(SB, LEFT, RIGHT, {generation: 'v0.9', verbose: true})).to.equal(
      '<superblock uuid="" time="1" transaction="1" data_block_size="128" nr_data_blocks="1000">\n' +
      '  <diff left="0" right="1">\n' +
      '    <different>\n' +
      '      <range begin="0" left_data_begin="100" right_data_begin="50" length="5"/>\n' +
      '      <range begin="5" left_data_begin="200" right_data_begin="55" length="5"/>\n' +
      '    </different>\n' +
      '  </diff>\n' +
      '</superblock>\n')
  })

  it('prints 1.x --verbose ranges, merged like plain ones (keeping the first data blocks)', () => {
    expect(deltaXml(SB, LEFT, RIGHT, {generation: 'v1', verbose: true})).to.equal(
      '<superblock uuid="" time="1" transaction="1" data_block_size="128" nr_data_blocks="1000">\n' +
      '  <diff left="0" right="1">\n' +
      '    <different>\n' +
      '      <range begin="0" left_data_begin="100" right_data_begin="50" length="10"/>\n' +
      '    </different>\n' +
      '  </diff>\n' +
      '</superblock>')
  })

  it('groups consecutive --verbose ranges of one kind and prints empty diffs', () => {
    const left = device(0, [[0, 100, 3], [5, 300, 1], [7, 400, 1]])
    const right = device(1, [[0, 100, 3], [3, 10, 1]])
    expect(deltaXml(SB, left, right, {generation: 'v0.9', verbose: true}).split('\n').slice(2, -3)).to.deep.equal([
      '    <same>',
      '      <range begin="0" data_begin="100" length="3"/>',
      '    </same>',
      '    <right_only>',
      '      <range begin="3" data_begin="10" length="1"/>',
      '    </right_only>',
      '    <left_only>',
      '      <range begin="5" data_begin="300" length="1"/>',
      '      <range begin="7" data_begin="400" length="1"/>',
      '    </left_only>',
    ])
    expect(deltaXml(SB, device(2, []), device(3, []), {generation: 'v0.9', verbose: true}).split('\n').slice(1))
      .to.deep.equal(['  <diff left="2" right="3">', '  </diff>', '</superblock>', ''])
  })

  it('shows a held metadata snapshot (0.9) or needs_check (1.x) in the superblock', () => {
    const sb = {...SB, flags: 1, metadataSnap: 77}
    const first = (generation: 'v0.9' | 'v1') =>
      deltaXml(sb, LEFT, RIGHT, {generation, verbose: false}).split('\n')[0]
    expect(first('v0.9')).to.equal(
      '<superblock uuid="" time="1" transaction="1" data_block_size="128" nr_data_blocks="1000" metadata_snap="77">')
    expect(first('v1')).to.equal(
      '<superblock uuid="" time="1" transaction="1" flags="1" data_block_size="128" nr_data_blocks="1000">')
  })

  describe('against the real thin_delta', function () {
    let dir: string

    before(function () {
      needTools(this, ...THIN_TOOLS)
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fvm-xml-delta-'))
    })

    after(() => {
      if (dir) fs.rmSync(dir, {recursive: true, force: true})
    })

    function compare(scenario: Scenario, pairs: [ScenarioDevice, ScenarioDevice][]): void {
      const meta = restoreXml(scenarioXml(scenario), 'v1', dir, totalMappedBlocks(scenario))
      for (const [left, right] of pairs) {
        for (const generation of ['v0.9', 'v1'] as const) {
          for (const verbose of [false, true]) {
            const real = thinTools.delta(meta, left.info.devId, right.info.devId, generation, verbose ? ['--verbose'] : [])
            expect(real.status, real.stderr).to.equal(0)
            const ours = deltaXml(scenario.superblock, left, right, {generation, verbose})
            expect(ours, `${left.info.devId} vs ${right.info.devId}, ${generation}, verbose ${verbose}`)
              .to.equal(real.stdout)
          }
        }
      }
      fs.rmSync(meta)
    }

    for (let seed = 1; seed <= 8; seed++) {
      it(`matches for random related devices, scenario ${seed}`, () => {
        const scenario = generateScenario({seed, origins: 1 + (seed % 2), snapshots: 2 + (seed % 3),
          blocksPerOrigin: 300 * seed, maxWrite: 1 + 8 * seed, deletes: seed % 2})
        const random = seededRandom(seed)
        const devices = scenario.devices
        const pick = () => devices[Math.floor(random() * devices.length)]
        const pairs: [ScenarioDevice, ScenarioDevice][] = [[devices[0], devices[devices.length - 1]], [pick(), pick()]]
        // Snapshots and their origins: the devices share a creation/snap time.
        for (const snap of devices) {
          const origin = devices.find((d) => d !== snap && d.info.snapTime === snap.info.creationTime)
          if (origin) pairs.push([origin, snap], [snap, origin])
        }
        compare(scenario, pairs)
      })
    }
  })
})
