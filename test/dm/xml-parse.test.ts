import {expect} from 'chai'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {Readable} from 'node:stream'
import {FvmError} from '../../src/errors.js'
import {MetadataXmlWriter} from '../../src/dm/thin/xml-emit.js'
import type {MetadataVisitor} from '../../src/dm/thin/xml-ir.js'
import {MetadataXmlParser, parseMetadataXml, parseMetadataXmlStream} from '../../src/dm/thin/xml-parse.js'
import {ScenarioRecorder, generateScenario, scenarioXml, seededRandom} from '../support/xml-scenarios.js'

function parse(xml: string): ScenarioRecorder {
  const recorder = new ScenarioRecorder()
  parseMetadataXml([Buffer.from(xml)], recorder)
  return recorder
}

/** Feeds `bytes` in chunks of `size`, through one reused buffer as an fd reader would. */
function* reusedChunks(bytes: Buffer, size: number): Generator<Uint8Array> {
  const buf = Buffer.alloc(size)
  for (let at = 0; at < bytes.length; at += size) {
    const n = bytes.copy(buf, 0, at, at + size)
    yield buf.subarray(0, n)
  }
}

function parseError(xml: string): string {
  try {
    parse(xml)
  } catch (err) {
    expect(err).to.be.instanceOf(FvmError)
    expect((err as FvmError).kind).to.equal('corrupt')
    return (err as Error).message
  }
  throw new Error('expected a parse error')
}

// formats.md §2.1: the pool is at time 1; dev 1 is a snapshot of dev 0 taken at time 1.
const EXAMPLE = `<superblock uuid="" time="1" transaction="2" flags="0" version="2" data_block_size="128" nr_data_blocks="16384">
  <device dev_id="0" mapped_blocks="3" transaction="1" creation_time="0" snap_time="1">
    <range_mapping origin_begin="0" data_begin="0" length="2" time="0"/>
    <single_mapping origin_block="2" data_block="5" time="1"/>
  </device>
  <device dev_id="1" mapped_blocks="3" transaction="1" creation_time="1" snap_time="1">
    <range_mapping origin_begin="0" data_begin="0" length="3" time="0"/>
  </device>
</superblock>
`

// What thin_dump 1.x prints for leaves shared between devices (no flags, no final newline).
const DEF_REF = `<superblock uuid="" time="3" transaction="2" version="2" data_block_size="128" nr_data_blocks="16384">
  <def name="1">
    <range_mapping origin_begin="0" data_begin="100" length="200" time="0"/>
  </def>
  <device dev_id="0" mapped_blocks="401" transaction="1" creation_time="0" snap_time="1">
    <ref name="1"/>
    <range_mapping origin_begin="200" data_begin="300" length="200" time="0"/>
    <single_mapping origin_block="400" data_block="500" time="1"/>
  </device>
  <device dev_id="1" mapped_blocks="400" transaction="1" creation_time="1" snap_time="1">
    <ref name="1"/>
    <range_mapping origin_begin="200" data_begin="300" length="200" time="0"/>
  </device>
  <device dev_id="2" mapped_blocks="0" transaction="1" creation_time="1" snap_time="1">
  </device>
</superblock>`

describe('xml-parse', () => {
  it('turns a 0.9 dump into events', () => {
    expect(parse(EXAMPLE).events).to.deep.equal([
      'superblock {"uuid":"","time":1,"transaction":2,"flags":0,"version":2,"dataBlockSize":128,"nrDataBlocks":16384}',
      'device {"devId":0,"mappedBlocks":3,"transaction":1,"creationTime":0,"snapTime":1}',
      'mapping 0 0 2 0',
      'mapping 2 5 1 1',
      'device end',
      'device {"devId":1,"mappedBlocks":3,"transaction":1,"creationTime":1,"snapTime":1}',
      'mapping 0 0 3 0',
      'device end',
      'superblock end',
    ])
  })

  it('expands 1.x <ref>s into the runs of their <def>, and defaults flags to 0', () => {
    const r = parse(DEF_REF)
    expect(r.superblock).to.deep.equal(
      {uuid: '', time: 3, transaction: 2, flags: 0, version: 2, dataBlockSize: 128, nrDataBlocks: 16384})
    expect(r.events.filter((e) => e.startsWith('mapping'))).to.deep.equal([
      'mapping 0 100 200 0', 'mapping 200 300 200 0', 'mapping 400 500 1 1',
      'mapping 0 100 200 0', 'mapping 200 300 200 0',
    ])
    expect(r.devices.map((d) => d.runs)).to.deep.equal([
      [{originBegin: 0, dataBegin: 100, length: 400, time: 0}, {originBegin: 400, dataBegin: 500, length: 1, time: 1}],
      [{originBegin: 0, dataBegin: 100, length: 400, time: 0}],
      [],
    ])
  })

  it('reads optional attributes, entities, comments, single quotes and empty elements', () => {
    const r = parse(`<!-- made by hand -->
<superblock uuid='a&amp;b&quot;' time = "7" transaction="0" data_block_size="2097152" nr_data_blocks="1099511627776"
    metadata_snap="42" version="1" flags="1">
  <device dev_id="16777215" mapped_blocks="0" transaction="9007199254740991" creation_time="4294967295" snap_time="0"/>
  <device dev_id="3" mapped_blocks="1" transaction="0" creation_time="0" snap_time="0"><single_mapping
    time="16777215" data_block="1099511627775" origin_block="9007199254740991"/></device>
</superblock>`)
    expect(r.superblock).to.deep.equal({uuid: 'a&b"', time: 7, transaction: 0, flags: 1, version: 1,
      dataBlockSize: 2097152, nrDataBlocks: 2 ** 40, metadataSnap: 42})
    expect(r.devices.map((d) => d.info.devId)).to.deep.equal([16777215, 3])
    expect(r.devices[1].runs).to.deep.equal(
      [{originBegin: 2 ** 53 - 1, dataBegin: 2 ** 40 - 1, length: 1, time: 2 ** 24 - 1}])
  })

  it('gives the same events and errors whatever the chunking', () => {
    const bytes = Buffer.from(DEF_REF)
    const whole = parse(DEF_REF).events
    for (let size = 1; size <= 64; size++) {
      const r = new ScenarioRecorder()
      parseMetadataXml(reusedChunks(bytes, size), r)
      expect(r.events, `chunk size ${size}`).to.deep.equal(whole)
    }
    const broken = Buffer.from(DEF_REF.replace('origin_block="400"', 'origin_block="399"'))
    const message = 'xml line 8 column 5: mapping of origin block 399 overlaps the previous mapping (origin blocks 200-399)'
    for (let size = 1; size <= 64; size++) {
      expect(() => parseMetadataXml(reusedChunks(broken, size), new ScenarioRecorder())).to.throw(message)
    }
  })

  it('parses noisy but valid renderings of random scenarios back to the model', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const scenario = generateScenario({seed, blocksPerOrigin: 300, snapshots: 3, deletes: seed % 2})
      for (const style of [{noise: true, seed}, {splitRuns: true, defs: true, seed}]) {
        const bytes = Buffer.from(scenarioXml(scenario, style))
        const r = new ScenarioRecorder()
        parseMetadataXml(reusedChunks(bytes, 1 + seed * 37), r)
        expect(r.scenario(), `seed ${seed} ${JSON.stringify(style)}`).to.deep.equal(scenario)
      }
    }
  })

  it('reads an async stream', async () => {
    const r = new ScenarioRecorder()
    await parseMetadataXmlStream(Readable.from([Buffer.from(EXAMPLE.slice(0, 100)), Buffer.from(EXAMPLE.slice(100))]), r)
    expect(r.events).to.deep.equal(parse(EXAMPLE).events)
  })

  it('drives the visitor while the document streams in', () => {
    const seen: string[] = []
    const visitor: MetadataVisitor = {
      superblockBegin: () => seen.push('sb'),
      deviceBegin: () => seen.push('dev'),
      mapping: () => seen.push('map'),
      deviceEnd: () => seen.push('/dev'),
      superblockEnd: () => seen.push('/sb'),
    }
    const parser = new MetadataXmlParser(visitor)
    const cut = EXAMPLE.indexOf('<single_mapping') + 3
    parser.write(Buffer.from(EXAMPLE.slice(0, cut)))
    expect(seen).to.deep.equal(['sb', 'dev', 'map'])
    parser.write(Buffer.from(EXAMPLE.slice(cut)))
    parser.end()
    expect(seen).to.deep.equal(['sb', 'dev', 'map', 'map', '/dev', 'dev', 'map', '/dev', '/sb'])
  })

  it('rejects every truncation, and throws only FvmErrors on random damage', () => {
    const end = DEF_REF.length
    for (let cut = 0; cut < end; cut++) {
      expect(() => parse(DEF_REF.slice(0, cut)), `cut at ${cut}`).to.throw(FvmError, /unexpected end of input/)
    }
    const random = seededRandom(42)
    const pick = (s: string) => s[Math.floor(random() * s.length)]
    for (let i = 0; i < 3000; i++) {
      const bytes = [...DEF_REF]
      for (let k = 0; k < 1 + Math.floor(random() * 3); k++) {
        const at = Math.floor(random() * bytes.length)
        const op = random()
        if (op < 0.4) bytes.splice(at, 1)
        else if (op < 0.7) bytes.splice(at, 0, pick('<>/="\' a&;-!?0123456789x\n'))
        else bytes[at] = pick(DEF_REF)
      }
      try {
        parse(bytes.join(''))
      } catch (err) {
        if (!(err instanceof FvmError)) throw new Error(`damage ${i} threw ${String(err)}`)
      }
    }
  })

  describe('rejects', () => {
    const dev1 = '<device dev_id="1" mapped_blocks="0" transaction="1" creation_time="0" snap_time="1">'
    const cases: [string, string, string][] = [
      ['an unknown attribute', EXAMPLE.replace('snap_time="1">', 'snap_time="1" foo="1">'),
        'xml line 2 column 88: unknown attribute "foo" in <device>'],
      ['an unknown element', EXAMPLE.replace('<device ', '<devices '),
        'xml line 2 column 3: unknown element <devices>'],
      ['a missing attribute', EXAMPLE.replace(' snap_time="1"', ''),
        'xml line 2 column 3: missing attribute "snap_time" in <device>'],
      ['a duplicate attribute', EXAMPLE.replace('time="1" transaction', 'time="1" time="1" transaction'),
        'xml line 1 column 30: duplicate attribute "time" in <superblock>'],
      ['a non-numeric value', EXAMPLE.replace('length="2"', 'length="x2"'),
        'xml line 3 column 60: invalid number "x2" for attribute "length" in <range_mapping>'],
      ['a negative value', EXAMPLE.replace('length="2"', 'length="-2"'),
        'xml line 3 column 60: invalid number "-2" for attribute "length" in <range_mapping>'],
      ['a fraction', EXAMPLE.replace('length="2"', 'length="1.5"'),
        'xml line 3 column 60: invalid number "1.5" for attribute "length" in <range_mapping>'],
      ['an empty number', EXAMPLE.replace('length="2"', 'length=""'),
        'xml line 3 column 60: invalid number "" for attribute "length" in <range_mapping>'],
      ['blanks in a number', EXAMPLE.replace('length="2"', 'length=" 2"'),
        'xml line 3 column 60: invalid number " 2" for attribute "length" in <range_mapping>'],
      ['a mapping time over 24 bits', EXAMPLE.replace('length="2" time="0"', 'length="2" time="16777216"'),
        'xml line 3 column 69: attribute "time" in <range_mapping> out of range: 16777216 (max 16777215)'],
      ['a dev_id over the kernel limit', EXAMPLE.replace('dev_id="0"', 'dev_id="16777216"'),
        'xml line 2 column 19: attribute "dev_id" in <device> out of range: 16777216 (max 16777215)'],
      ['a pool time over 32 bits', EXAMPLE.replace('time="1" transaction="2"', 'time="4294967296" transaction="2"'),
        'xml line 1 column 27: attribute "time" in <superblock> out of range: 4294967296 (max 4294967295)'],
      ['a block number from 2^53', EXAMPLE.replace('origin_block="2"', 'origin_block="9007199254740992"'),
        'xml line 4 column 35: attribute "origin_block" in <single_mapping> out of range: 9007199254740992 ' +
        '(max 9007199254740991)'],
      ['nr_data_blocks over 40 bits', EXAMPLE.replace('"16384"', '"1099511627777"'),
        'xml line 1 column 106: attribute "nr_data_blocks" in <superblock> out of range: 1099511627777 ' +
        '(max 1099511627776)'],
      ['an invalid data_block_size', EXAMPLE.replace('data_block_size="128"', 'data_block_size="192"'),
        'xml line 1 column 1: invalid data_block_size 192: must be a multiple of 128 between 128 and 2097152 sectors'],
      ['length 0', EXAMPLE.replace('length="2"', 'length="0"'),
        'xml line 3 column 5: length must be at least 1 in <range_mapping>'],
      ['a data block past nr_data_blocks', EXAMPLE.replace('data_block="5"', 'data_block="16384"'),
        'xml line 4 column 5: data block 16384 out of range in <single_mapping> (nr_data_blocks is 16384)'],
      ['a run ending past nr_data_blocks', EXAMPLE.replace('data_begin="0" length="3"', 'data_begin="16382" length="3"'),
        'xml line 7 column 5: data block 16384 out of range in <range_mapping> (nr_data_blocks is 16384)'],
      ['mappings out of order', EXAMPLE.replace('origin_begin="0" data_begin="0" length="2"',
        'origin_begin="3" data_begin="0" length="2"'),
        'xml line 4 column 5: mapping of origin block 2 out of order (after origin block 3)'],
      ['overlapping runs', EXAMPLE.replace('origin_block="2"', 'origin_block="1"'),
        'xml line 4 column 5: mapping of origin block 1 overlaps the previous mapping (origin blocks 0-1)'],
      ['a mapping outside a device', EXAMPLE.replace('<device dev_id="1"',
        '<single_mapping origin_block="2" data_block="5" time="1"/><device dev_id="1"'),
        'xml line 6 column 3: <single_mapping> outside <device>'],
      ['nested devices', EXAMPLE.replace('    <range_mapping origin_begin="0" data_begin="0" length="3"',
        `    ${dev1}<range_mapping origin_begin="0" data_begin="0" length="3"`),
        'xml line 7 column 5: <device> inside <device>'],
      ['a duplicate device', EXAMPLE.replace('dev_id="1"', 'dev_id="0"'),
        'xml line 6 column 3: duplicate device 0'],
      ['a wrong mapped_blocks', EXAMPLE.replace('mapped_blocks="3"', 'mapped_blocks="4"'),
        'xml line 5 column 3: device 0 declares mapped_blocks="4" but maps 3 blocks'],
      ['input cut inside a tag', EXAMPLE.slice(0, EXAMPLE.indexOf('data_block="5"') + 5),
        'xml line 4 column 5: unexpected end of input inside <single_mapping>'],
      ['input cut inside a device', EXAMPLE.slice(0, EXAMPLE.indexOf('  </device>')),
        'xml line 5 column 1: unexpected end of input: <device> 0 not closed'],
      ['input cut before </superblock>', EXAMPLE.slice(0, EXAMPLE.indexOf('</superblock>')),
        'xml line 9 column 1: unexpected end of input: <superblock> not closed'],
      ['empty input', '', 'xml line 1 column 1: unexpected end of input: no <superblock>'],
      ['an xml declaration', `<?xml version="1.0"?>\n${EXAMPLE}`,
        'xml line 1 column 1: xml declarations and processing instructions are not supported'],
      ['a doctype', `<!DOCTYPE superblock>\n${EXAMPLE}`,
        'xml line 1 column 1: doctype and cdata sections are not supported'],
      ['text', EXAMPLE.replace('  </device>', '  hello </device>'),
        'xml line 5 column 3: unexpected text "hello"'],
      ['a second superblock', EXAMPLE + EXAMPLE,
        'xml line 10 column 1: content after </superblock>: <superblock>'],
      ['text after the superblock', `${EXAMPLE}x`, 'xml line 10 column 1: content after </superblock>: "x"'],
      ['a nested superblock', EXAMPLE.replace('  <device dev_id="1"', '  <superblock/><device dev_id="1"'),
        'xml line 6 column 3: nested <superblock>'],
      ['a mapping with content', EXAMPLE.replace('time="1"/>', 'time="1"></single_mapping>'),
        'xml line 4 column 5: <single_mapping> must be an empty element ending in "/>"'],
      ['a mismatched end tag', EXAMPLE.replace('  </device>', '  </superblock>'),
        'xml line 5 column 3: expected </device>, found </superblock>'],
      ['an unknown entity', EXAMPLE.replace('uuid=""', 'uuid="&nbsp;"'),
        'xml line 1 column 19: unsupported entity in attribute "uuid" in <superblock>'],
      ['attributes without a blank between them', EXAMPLE.replace('length="2" time', 'length="2"time'),
        'xml line 3 column 62: expected whitespace before attribute in <range_mapping>'],
      ['a <ref> to an unknown <def>', DEF_REF.replace('<ref name="1"/>', '<ref name="2"/>'),
        'xml line 6 column 5: <ref> to unknown <def> "2"'],
      ['a <def> inside a device', DEF_REF.replace('    <ref name="1"/>', '    <def name="2"/>'),
        'xml line 6 column 5: <def> inside <device>'],
      ['a <ref> inside a <def>', DEF_REF.replace('  </def>', '  <ref name="1"/></def>'),
        'xml line 4 column 3: <ref> inside <def>'],
      ['a duplicate <def>', DEF_REF.replace('  <device dev_id="0"', '  <def name="1"/><device dev_id="0"'),
        'xml line 5 column 3: duplicate <def> "1"'],
      ['a <ref> overlapping earlier runs', DEF_REF.replace('    <ref name="1"/>\n    <range_mapping origin_begin="200"',
        '    <single_mapping origin_block="7" data_block="7" time="0"/><ref name="1"/>\n    <range_mapping origin_begin="200"'),
        'xml line 6 column 63: mapping of origin block 0 out of order (after origin block 7)'],
      ['a <def> left open', DEF_REF.slice(0, DEF_REF.indexOf('  </def>')),
        'xml line 4 column 1: unexpected end of input: <def> "1" not closed'],
    ]
    for (const [what, xml, message] of cases) {
      it(what, () => expect(parseError(xml)).to.equal(message))
    }
  })

  describe('speed', () => {
    const file = path.join(os.tmpdir(), `fvm-xml-speed-${process.pid}.xml`)
    const mappings = 2_000_000

    before(() => {
      const fd = fs.openSync(file, 'w')
      const writer = new MetadataXmlWriter((chunk) => fs.writeSync(fd, chunk))
      writer.superblockBegin({uuid: '', time: 7, transaction: 1, flags: 0, version: 2, dataBlockSize: 128,
        nrDataBlocks: 2 ** 36})
      writer.deviceBegin({devId: 1, mappedBlocks: mappings, transaction: 1, creationTime: 0, snapTime: 7})
      for (let i = 0; i < mappings; i++) {
        writer.mapping({originBegin: 1e8 + 2 * i, dataBegin: 2e9 + 3 * i, length: 1, time: i & 7})
      }
      writer.deviceEnd()
      writer.superblockEnd()
      fs.closeSync(fd)
    })

    after(() => fs.rmSync(file, {force: true}))

    it('parses 2,000,000 single mappings (about 160 MB) in well under 2 seconds', function () {
      this.timeout(20_000)
      let blocks = 0
      const visitor: MetadataVisitor = {
        superblockBegin() {}, deviceBegin() {}, deviceEnd() {}, superblockEnd() {},
        mapping(run) {
          blocks += run.length
        },
      }
      let best = Infinity
      for (let round = 0; round < 2; round++) {
        blocks = 0
        const started = process.hrtime.bigint()
        parseMetadataXml(fileChunks(file), visitor)
        best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9)
        expect(blocks).to.equal(mappings)
      }
      // About 0.5 s on an idle machine; the bound leaves room for a busy one.
      expect(best).to.be.below(2)
    })
  })
})

function* fileChunks(file: string): Generator<Uint8Array> {
  const fd = fs.openSync(file, 'r')
  const buf = Buffer.alloc(1 << 20)
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null)
      if (n === 0) return
      yield buf.subarray(0, n)
    }
  } finally {
    fs.closeSync(fd)
  }
}
