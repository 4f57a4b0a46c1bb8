// Seeded random thin-pool histories for tests: devices are created, written, snapshotted,
// discarded and deleted the way the kernel does it, so sharing and mapping times obey
// formats.md §1.8. The result is an in-memory model of every device's mappings plus
// XML renderings of it (canonical, split runs, 1.x def/ref, or noisy but valid).
import fs from 'node:fs'
import path from 'node:path'
import type {DeviceIr, MappingRun, MetadataVisitor, SuperblockIr} from '../../src/dm/thin/xml-ir.js'
import {type Generation, thinTools} from './thin-tools.js'

export interface ScenarioOptions {
  seed: number
  /** Devices created empty (create_thin). */
  origins?: number
  /** Snapshots taken along the way, of origins or of other snapshots. */
  snapshots?: number
  /** Blocks written into each origin before any snapshot: roughly its mapping count. */
  blocksPerOrigin?: number
  /** Blocks rewritten or discarded after each snapshot, as a fraction of blocksPerOrigin. */
  churn?: number
  /** Longest single write, in blocks. */
  maxWrite?: number
  /** Devices deleted at the end. */
  deletes?: number
}

export interface ScenarioDevice {
  info: DeviceIr
  /** Maximal runs (thin_dump's merging rule), ascending. */
  runs: MappingRun[]
}

export interface Scenario {
  superblock: SuperblockIr
  /** In dev_id order. */
  devices: ScenarioDevice[]
}

export interface XmlStyle {
  /** Split runs at random points: restore accepts any split, dump merges them back. */
  splitRuns?: boolean
  /** Put runs that several devices share into 1.x <def>s, used through <ref>. */
  defs?: boolean
  /** Valid but unusual layout: attribute order, whitespace, comments, single quotes. */
  noise?: boolean
  /** Seed for the randomness of the rendering; defaults to 1. */
  seed?: number
}

/** A small fast PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

interface Mapping {
  data: number
  time: number
}

interface SimDevice {
  info: DeviceIr
  map: Map<number, Mapping>
  /** Size of the thin device, in blocks: writes land below it. */
  virtualBlocks: number
}

/** Simulates a random pool history and returns its final metadata. */
export function generateScenario(options: ScenarioOptions): Scenario {
  const {seed, origins = 2, snapshots = 3, blocksPerOrigin = 2000, churn = 0.2, maxWrite = 64, deletes = 0} = options
  const random = seededRandom(seed)
  const int = (n: number) => Math.floor(random() * n)
  const refs = new Map<number, number>()
  const freed: number[] = []
  let bump = int(1000)
  let time = 0
  let transaction = 1 + int(5)
  let nextDevId = int(4)
  const devices: SimDevice[] = []

  const allocate = (): number => {
    // Mostly fresh blocks (long data runs), sometimes a recycled one (breaks the runs).
    let block = freed.length > 0 && random() < 0.1 ? freed.pop()! : bump++
    while ((refs.get(block) ?? 0) > 0) block = bump++
    refs.set(block, 1)
    return block
  }
  const release = (block: number) => {
    const count = refs.get(block)! - 1
    refs.set(block, count)
    if (count === 0) freed.push(block)
  }
  const write = (dev: SimDevice, begin: number, length: number) => {
    for (let b = begin; b < Math.min(begin + length, dev.virtualBlocks); b++) {
      const old = dev.map.get(b)
      // The kernel's only sharing test: snapshotted since the block was written.
      if (old && !(dev.info.snapTime > old.time)) continue
      if (old) release(old.data)
      dev.map.set(b, {data: allocate(), time})
    }
  }
  const discard = (dev: SimDevice, begin: number, length: number) => {
    for (let b = begin; b < begin + length; b++) {
      const old = dev.map.get(b)
      if (!old) continue
      release(old.data)
      dev.map.delete(b)
    }
  }
  const churnOnce = () => {
    const dev = devices[int(devices.length)]
    const length = 1 + int(maxWrite)
    const begin = int(dev.virtualBlocks)
    if (random() < 0.8) write(dev, begin, length)
    else discard(dev, begin, length)
  }

  for (let i = 0; i < origins; i++) {
    const dev: SimDevice = {
      info: {devId: nextDevId, mappedBlocks: 0, transaction, creationTime: time, snapTime: time},
      map: new Map(),
      virtualBlocks: Math.ceil(blocksPerOrigin * (1.2 + random())),
    }
    nextDevId += 1 + int(3)
    transaction += 1
    devices.push(dev)
    while (dev.map.size < blocksPerOrigin) write(dev, int(dev.virtualBlocks), 1 + int(maxWrite))
  }
  for (let i = 0; i < snapshots; i++) {
    const origin = devices[int(devices.length)]
    time++
    transaction++
    origin.info.snapTime = time
    const snap: SimDevice = {
      info: {devId: nextDevId, mappedBlocks: 0, transaction, creationTime: time, snapTime: time},
      map: new Map(origin.map),
      virtualBlocks: origin.virtualBlocks,
    }
    nextDevId += 1 + int(3)
    for (const m of snap.map.values()) refs.set(m.data, refs.get(m.data)! + 1)
    devices.push(snap)
    for (let w = 0; w < (blocksPerOrigin * churn) / (maxWrite / 2); w++) churnOnce()
  }
  for (let i = 0; i < deletes && devices.length > 1; i++) {
    const [dev] = devices.splice(int(devices.length), 1)
    discard(dev, 0, dev.virtualBlocks)
    transaction++
  }

  let highest = 0
  for (const [block, count] of refs) if (count > 0) highest = Math.max(highest, block)
  const superblock: SuperblockIr = {
    uuid: '',
    time,
    transaction,
    flags: 0,
    version: 2,
    dataBlockSize: 128 * (1 + int(8)),
    nrDataBlocks: highest + 1 + int(10000),
  }
  const result = devices
    .map((dev): ScenarioDevice => ({info: {...dev.info, mappedBlocks: dev.map.size}, runs: toRuns(dev.map)}))
    .sort((a, b) => a.info.devId - b.info.devId)
  return {superblock, devices: result}
}

function toRuns(map: Map<number, Mapping>): MappingRun[] {
  const keys = [...map.keys()].sort((a, b) => a - b)
  const runs: MappingRun[] = []
  for (const origin of keys) {
    const {data, time} = map.get(origin)!
    const last = runs[runs.length - 1]
    if (last && origin === last.originBegin + last.length && data === last.dataBegin + last.length && time === last.time) {
      last.length++
    } else {
      runs.push({originBegin: origin, dataBegin: data, length: 1, time})
    }
  }
  return runs
}

/** Merges runs by thin_dump's rule (origin+1, data+1, same time) into maximal runs. */
export function maximalRuns(runs: Iterable<Readonly<MappingRun>>): MappingRun[] {
  const out: MappingRun[] = []
  for (const run of runs) {
    const last = out[out.length - 1]
    if (last && run.originBegin === last.originBegin + last.length &&
      run.dataBegin === last.dataBegin + last.length && run.time === last.time) {
      last.length += run.length
    } else {
      out.push({...run})
    }
  }
  return out
}

/** Total mapped blocks over all devices: sizes the metadata file for thin_restore. */
export function totalMappedBlocks(scenario: Scenario): number {
  return scenario.devices.reduce((sum, d) => sum + d.info.mappedBlocks, 0)
}

/**
 * Checks formats.md §1.8 on the model: a data block mapped by two or more devices must
 * carry a mapping time older than every such device's snap_time. Returns the violations.
 */
export function sharingViolations(scenario: Scenario): string[] {
  const holders = new Map<number, {devId: number, time: number, snapTime: number}[]>()
  for (const dev of scenario.devices) {
    for (const run of dev.runs) {
      for (let i = 0; i < run.length; i++) {
        const list = holders.get(run.dataBegin + i) ?? []
        list.push({devId: dev.info.devId, time: run.time, snapTime: dev.info.snapTime})
        holders.set(run.dataBegin + i, list)
      }
    }
  }
  const problems: string[] = []
  for (const [block, list] of holders) {
    if (list.length < 2) continue
    for (const h of list) {
      if (!(h.time < h.snapTime)) problems.push(`data block ${block} shared but device ${h.devId} may write it in place`)
    }
  }
  return problems
}

/** Renders the scenario as thin_dump-style XML that both tool generations restore (defs: 1.x only). */
export function scenarioXml(scenario: Scenario, style: XmlStyle = {}): string {
  const random = seededRandom(style.seed ?? 1)
  const out: string[] = []
  const sb = scenario.superblock
  const defs = style.defs ? findDefs(scenario) : new Map<string, Def>()

  const element = (indent: string, name: string, attrs: [string, number | string][], close: '>' | '/>') => {
    if (!style.noise) {
      out.push(`${indent}<${name}${attrs.map(([k, v]) => ` ${k}="${v}"`).join('')}${close}\n`)
      return
    }
    const shuffled = [...attrs]
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]]
    }
    const space = () => [' ', '  ', '\n\t', ' \r\n '][Math.floor(random() * 4)]
    const body = shuffled.map(([k, v]) => {
      const q = random() < 0.3 ? "'" : '"'
      return `${space()}${k}${random() < 0.2 ? ' = ' : '='}${q}${v}${q}`
    }).join('')
    if (random() < 0.1) out.push(`<!-- before ${name},\n a comment -->`)
    out.push(`${random() < 0.5 ? indent : ''}<${name}${body}${random() < 0.3 ? space() : ''}${close}${random() < 0.8 ? '\n' : ''}`)
  }
  const mapping = (indent: string, run: MappingRun) => {
    if (run.length === 1) {
      element(indent, 'single_mapping', [['origin_block', run.originBegin], ['data_block', run.dataBegin], ['time', run.time]], '/>')
    } else {
      element(indent, 'range_mapping', [['origin_begin', run.originBegin], ['data_begin', run.dataBegin],
        ['length', run.length], ['time', run.time]], '/>')
    }
  }
  const pieces = (run: MappingRun): MappingRun[] => {
    if (!style.splitRuns || run.length === 1 || random() < 0.5) return [run]
    const cut = 1 + Math.floor(random() * (run.length - 1))
    return [
      {...run, length: cut},
      ...pieces({originBegin: run.originBegin + cut, dataBegin: run.dataBegin + cut, length: run.length - cut, time: run.time}),
    ]
  }

  element('', 'superblock', [['uuid', sb.uuid], ['time', sb.time], ['transaction', sb.transaction], ['flags', sb.flags],
    ['version', sb.version], ['data_block_size', sb.dataBlockSize], ['nr_data_blocks', sb.nrDataBlocks]], '>')
  for (const [name, def] of defs) {
    element('  ', 'def', [['name', name]], '>')
    for (const run of def.runs) for (const piece of pieces(run)) mapping('    ', piece)
    out.push('  </def>\n')
  }
  for (const dev of scenario.devices) {
    const d = dev.info
    element('  ', 'device', [['dev_id', d.devId], ['mapped_blocks', d.mappedBlocks], ['transaction', d.transaction],
      ['creation_time', d.creationTime], ['snap_time', d.snapTime]], '>')
    for (let i = 0; i < dev.runs.length;) {
      const def = defs.get(runKey(dev.runs[i]))
      if (def) {
        element('    ', 'ref', [['name', runKey(dev.runs[i])]], '/>')
        i += def.runs.length
        continue
      }
      for (const piece of pieces(dev.runs[i])) mapping('    ', piece)
      i++
    }
    out.push('  </device>\n')
  }
  out.push('</superblock>\n')
  return out.join('')
}

interface Def {
  runs: MappingRun[]
}

function runKey(run: MappingRun): string {
  return `${run.originBegin}.${run.dataBegin}.${run.length}.${run.time}`
}

/**
 * Groups identical runs found in several devices into defs, keyed by their first run:
 * a def extends while the next run is shared by exactly the same devices, each of which
 * also has it next, so every holder can replace the whole sequence by one <ref>.
 */
function findDefs(scenario: Scenario): Map<string, Def> {
  const positions = new Map<string, Map<number, number>>()
  scenario.devices.forEach((dev, d) => dev.runs.forEach((run, i) => {
    const key = runKey(run)
    const at = positions.get(key) ?? new Map<number, number>()
    at.set(d, i)
    positions.set(key, at)
  }))
  const defs = new Map<string, Def>()
  const used = new Set<string>()
  for (const dev of scenario.devices) {
    for (let i = 0; i < dev.runs.length; i++) {
      const key = runKey(dev.runs[i])
      const holders = positions.get(key)!
      if (holders.size < 2 || used.has(key)) continue
      const runs = [dev.runs[i]]
      used.add(key)
      while (i + 1 < dev.runs.length) {
        const nextKey = runKey(dev.runs[i + 1])
        const next = positions.get(nextKey)!
        const follows = next.size === holders.size && !used.has(nextKey) &&
          [...holders].every(([holder, pos]) => next.get(holder) === pos + runs.length)
        if (!follows) break
        runs.push(dev.runs[++i])
        used.add(nextKey)
      }
      defs.set(key, {runs})
    }
  }
  return defs
}

/** A visitor that rebuilds the model from events, merging runs into maximal ones. */
export class ScenarioRecorder implements MetadataVisitor {
  superblock: SuperblockIr | undefined
  readonly devices: ScenarioDevice[] = []
  /** Every event in order, runs exactly as passed: for tests of event streams. */
  readonly events: string[] = []
  private runs: MappingRun[] = []

  superblockBegin(sb: SuperblockIr): void {
    this.superblock = sb
    this.events.push(`superblock ${JSON.stringify(sb)}`)
  }

  deviceBegin(dev: DeviceIr): void {
    this.devices.push({info: dev, runs: []})
    this.runs = []
    this.events.push(`device ${JSON.stringify(dev)}`)
  }

  mapping(run: Readonly<MappingRun>): void {
    this.runs.push(run)
    this.events.push(`mapping ${run.originBegin} ${run.dataBegin} ${run.length} ${run.time}`)
  }

  deviceEnd(): void {
    this.devices[this.devices.length - 1].runs = maximalRuns(this.runs)
    this.events.push('device end')
  }

  superblockEnd(): void {
    this.events.push('superblock end')
  }

  scenario(): Scenario {
    return {superblock: this.superblock!, devices: this.devices}
  }
}

let restores = 0

/**
 * Restores `xml` with the given tool generation into a fresh, preallocated metadata
 * file in `dir` (sized for `mappedBlocks` unshared mappings) and returns its path.
 */
export function restoreXml(xml: string, gen: Generation, dir: string, mappedBlocks: number): string {
  const base = path.join(dir, `restore-${gen}-${restores++}`)
  fs.writeFileSync(`${base}.xml`, xml)
  fs.writeFileSync(`${base}.meta`, '')
  // Leaves hold about 120 entries; leave plenty of room for internal nodes and space maps.
  fs.truncateSync(`${base}.meta`, Math.ceil((8 * 2 ** 20 + mappedBlocks * 64) / 4096) * 4096)
  const r = thinTools.restore(`${base}.xml`, `${base}.meta`, gen)
  if (r.status !== 0) throw new Error(`thin_restore ${gen} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`)
  return `${base}.meta`
}
