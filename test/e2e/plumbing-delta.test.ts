// `fvm plumbing thin delta --xml` against the real thin_delta (0.9 and 1.x, plain and
// --verbose), byte for byte, on random pool histories: pools fvm builds through the
// ThinPool API as the kernel would (writes, copy on write, snapshots of snapshots,
// discards, deletes, a held metadata snapshot), and pools fvm restores from random
// thin_dump XML. Most comparisons call the plumbing in-process to keep the file fast;
// a few go through bin/fvm, with the JSON output and the bad-input cases.
import {expect} from 'chai'
import {execFile} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {ThinPool} from '../../src/dm/thin/thin-pool.js'
import type {DeltaRange, ToolGeneration} from '../../src/dm/thin/xml-delta.js'
import {thinDelta, thinDeltaXml} from '../../src/plumbing/delta.js'
import {restorePool} from '../../src/plumbing/pool-xml.js'
import {fvm, tempDir} from '../support/cli.js'
import {THIN_TOOLS} from '../support/thin-tools.js'
import {needTools, pdataTools} from '../support/tools.js'
import {generateScenario, scenarioXml, seededRandom} from '../support/xml-scenarios.js'

const API_SCENARIOS = 100
const RESTORED_SCENARIOS = 20
/** Every this many scenarios, the first pair also goes through bin/fvm, in every mode. */
const CLI_EVERY = 20

interface Mode {
  generation: ToolGeneration
  verbose: boolean
}

const MODES: Mode[] = [
  {generation: 'v0.9', verbose: false},
  {generation: 'v0.9', verbose: true},
  {generation: 'v1', verbose: false},
  {generation: 'v1', verbose: true},
]

interface Built {
  pool: string
  /** Device pairs to compare, left first. */
  pairs: [number, number][]
}

/**
 * A random history through the ThinPool API: origins written in runs, snapshots (of
 * snapshots too) with writes and discards on every device after them, some commits,
 * deletes, sometimes a held metadata snapshot. Pairs: each snapshot with its origin both
 * ways round, a random pair, a device with itself and with the empty device 0.
 */
function buildWithApi(pool: string, seed: number): Built {
  const random = seededRandom(seed)
  const int = (n: number) => Math.floor(random() * n)
  // Mostly small pools; every tenth one's trees have three levels (about 40,000 mappings).
  const size = seed % 10 === 0 ? 60_000 : [50, 400, 3000, 8000][seed % 4]
  fs.mkdirSync(pool)
  const p = ThinPool.format(pool, {dataBlocks: size * 4 + 1000, dataBlockSize: 65536 * (1 + int(4))})
  const devices: number[] = []
  const origins = new Map<number, number>()
  let nextId = 1 + int(3)
  const write = (id: number, begin: number, length: number) => {
    for (let v = begin; v < begin + length; v++) {
      const old = p.lookup(id, v)
      if (old && !old.shared) continue
      p.insert(id, v, p.allocateDataBlock())
    }
  }
  const discard = (id: number, begin: number, length: number) => {
    for (let v = begin; v < begin + length; v++) p.remove(id, v)
  }
  const churn = (rounds: number) => {
    for (let i = 0; i < rounds; i++) {
      const id = devices[int(devices.length)]
      const length = 1 + int(Math.max(1, size / 50))
      if (random() < 0.75) write(id, int(size * 1.2), length)
      else discard(id, int(size * 1.2), length)
      if (random() < 0.05) p.commit()
    }
  }
  try {
    for (let o = 1 + int(2); o > 0; o--) {
      const id = nextId
      nextId += 1 + int(3)
      p.createThin(id)
      devices.push(id)
      for (let mapped = 0; mapped < size;) {
        const length = 1 + int(Math.max(1, size / 20))
        write(id, int(size * 1.2), length)
        mapped += length
      }
    }
    p.commit()
    const snapshots = 1 + int(4)
    for (let s = 0; s < snapshots; s++) {
      const origin = devices[int(devices.length)]
      const id = nextId
      nextId += 1 + int(3)
      p.createSnap(id, origin)
      origins.set(id, origin)
      devices.push(id)
      if (s === 1 && seed % 3 === 0) p.reserveMetadataSnap()
      churn(5 + int(20))
    }
    if (random() < 0.3 && devices.length > 2) {
      const [gone] = devices.splice(1 + int(devices.length - 1), 1)
      p.delete(gone)
    }
    if (random() < 0.3) p.setTransactionId(p.transactionId, p.transactionId + 1 + int(100))
    p.commit()
  } finally {
    p.close()
  }
  const pairs: [number, number][] = []
  for (const [snap, origin] of origins) {
    if (devices.includes(snap) && devices.includes(origin)) pairs.push([origin, snap], [snap, origin])
  }
  pairs.push([devices[int(devices.length)], devices[int(devices.length)]], [devices[0], devices[0]], [0, devices[0]])
  return {pool, pairs}
}

/** A random thin_dump history (unshared trees, recycled data blocks), restored by fvm. */
function buildByRestore(pool: string, dir: string, seed: number): Built {
  const scenario = generateScenario({seed, origins: 1 + (seed % 2), snapshots: 1 + (seed % 4),
    blocksPerOrigin: 100 * (1 + (seed % 7)), maxWrite: 1 + (seed % 16), deletes: seed % 2})
  const xml = path.join(dir, `scenario-${seed}.xml`)
  fs.writeFileSync(xml, scenarioXml(scenario))
  restorePool({pool, input: xml})
  const devices = scenario.devices
  const pairs: [number, number][] = [[devices[0].info.devId, devices[devices.length - 1].info.devId]]
  for (const snap of devices) {
    const origin = devices.find((d) => d !== snap && d.info.snapTime === snap.info.creationTime)
    if (origin) pairs.push([origin.info.devId, snap.info.devId], [snap.info.devId, origin.info.devId])
  }
  return {pool, pairs}
}

function ourXml(pool: string, left: number, right: number, mode: Mode): string {
  let out = ''
  thinDeltaXml({pool, left, right, ...mode}, (chunk) => {
    out += chunk
  })
  return out
}

/** Runs the real thin_delta, asynchronously: it mostly waits on direct I/O, so many run side by side. */
function realXml(pool: string, left: number, right: number, mode: Mode): Promise<string> {
  const args = [...(mode.verbose ? ['--verbose'] : []), '--snap1', String(left), '--snap2', String(right), path.join(pool, 'metadata')]
  const [cmd, argv] = mode.generation === 'v1' ? [pdataTools, ['thin_delta', ...args]] : ['thin_delta', args]
  return run(cmd, argv)
}

function run(cmd: string, argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, {encoding: 'utf8', maxBuffer: 1 << 28}, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} ${argv.join(' ')} failed: ${error.message}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

/** Runs the jobs, at most `limit` at a time. */
async function inParallel(jobs: (() => Promise<void>)[], limit = 16): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]()
  }
  await Promise.all(Array.from({length: limit}, worker))
}

function modeName(mode: Mode): string {
  return `${mode.generation}${mode.verbose ? ' --verbose' : ''}`
}

function cliArgs(pool: string, left: number, right: number, mode: Mode): string[] {
  return ['plumbing', 'thin', 'delta', '--pool', pool, '--xml', ...(mode.verbose ? ['--verbose'] : []),
    ...(mode.generation === 'v1' ? ['--format', 'v1'] : []), String(left), String(right)]
}

describe('fvm plumbing thin delta (end to end)', function () {
  this.timeout(120_000)
  let dir: string

  before(function () {
    needTools(this, ...THIN_TOOLS)
    dir = tempDir('fvm-delta-e2e-')
  })

  after(() => {
    if (dir) fs.rmSync(dir, {recursive: true, force: true})
  })

  /**
   * Every pair in every mode against the real tool; the first pair through bin/fvm too
   * when asked, one run at a time, as each takes the pool's lock.
   */
  async function compare(built: Built, viaCli: boolean): Promise<void> {
    const first = new Map<Mode, string>()
    const jobs = built.pairs.flatMap(([left, right], i) => MODES.map((mode) => async () => {
      const real = await realXml(built.pool, left, right, mode)
      expect(ourXml(built.pool, left, right, mode), `${left} vs ${right}, ${modeName(mode)}`).to.equal(real)
      if (i === 0) first.set(mode, real)
    }))
    await inParallel(jobs)
    const [left, right] = built.pairs[0]
    for (const mode of viaCli ? MODES : []) {
      const r = fvm(cliArgs(built.pool, left, right, mode))
      expect(r.status, r.stderr).to.equal(0)
      expect(r.stdout, `bin/fvm, ${left} vs ${right}, ${modeName(mode)}`).to.equal(first.get(mode))
    }
    fs.rmSync(built.pool, {recursive: true, force: true})
  }

  it(`matches thin_delta on ${API_SCENARIOS} random pool histories built through the API`, async () => {
    for (let seed = 1; seed <= API_SCENARIOS; seed++) {
      await compare(buildWithApi(path.join(dir, `api-${seed}`), seed), seed % CLI_EVERY === 0)
    }
  })

  it(`matches thin_delta on ${RESTORED_SCENARIOS} random pools restored from XML`, async () => {
    for (let seed = 1; seed <= RESTORED_SCENARIOS; seed++) {
      await compare(buildByRestore(path.join(dir, `restored-${seed}`), dir, seed), seed % CLI_EVERY === 0)
    }
  })

  it('prints the changes as one JSON object, the same ranges with --same', () => {
    const built = buildWithApi(path.join(dir, 'json'), 4)
    const [left, right] = built.pairs[0]
    const run = (...extra: string[]) => {
      const r = fvm(['plumbing', 'thin', 'delta', '--pool', built.pool, ...extra, String(left), String(right)])
      expect(r.status, r.stderr).to.equal(0)
      return JSON.parse(r.stdout) as {left: number, right: number, blockSize: number, ranges: DeltaRange[], count: number, changedBlocks: number}
    }
    const changes = run()
    const all = run('--same')
    const blocks = (ranges: DeltaRange[]) => ranges.reduce((n, r) => n + r.length, 0)
    expect(Object.keys(changes)).to.deep.equal(['left', 'right', 'blockSize', 'ranges', 'count', 'changedBlocks'])
    expect(changes).to.include({left, right, count: changes.ranges.length, changedBlocks: blocks(changes.ranges)})
    expect(changes.blockSize % 65536).to.equal(0)
    expect(changes.ranges).to.deep.equal([...thinDelta({pool: built.pool, left, right}).ranges])
    expect(changes.ranges.length).to.be.above(0)
    expect(changes.ranges.some((r) => r.kind === 'same')).to.equal(false)
    expect(all.ranges.filter((r) => r.kind !== 'same')).to.deep.equal(changes.ranges)
    expect(all).to.include({count: all.ranges.length, changedBlocks: changes.changedBlocks})
    expect(all.ranges.some((r) => r.kind === 'same')).to.equal(true)
    for (const r of changes.ranges) {
      expect(Object.keys(r)).to.deep.equal(r.kind === 'different'
        ? ['kind', 'begin', 'length', 'leftDataBegin', 'rightDataBegin']
        : ['kind', 'begin', 'length', 'dataBegin'])
    }
  })

  it('refuses bad input with the usual exit codes, as JSON or (with --xml) on stderr', () => {
    const pool = path.join(dir, 'bad')
    expect(fvm(['plumbing', 'pool', 'format', '--pool', pool, '--data-blocks', '100']).status).to.equal(0)
    expect(fvm(['plumbing', 'thin', 'create', '--pool', pool, '1']).status).to.equal(0)
    const json = (args: string[], code: number, message: RegExp) => {
      const r = fvm(['plumbing', 'thin', 'delta', ...args])
      expect(r.status, r.stdout).to.equal(code)
      expect((JSON.parse(r.stdout) as {error: {message: string}}).error.message).to.match(message)
    }
    json(['--pool', pool, '1', '2'], 3, /thin device 2 does not exist/)
    json(['--pool', path.join(dir, 'none'), '1', '1'], 3, /no pool at/)
    json(['--pool', pool, '1', 'x'], 2, /invalid device id "x"/)
    json(['--pool', pool, '-1', '1'], 2, /./)
    json(['--pool', pool, '1', '16777216'], 2, /invalid device id "16777216": at most 16777215/)
    json(['--pool', pool, '1'], 2, /missing 1 required arg/i)
    json(['--pool', pool, '--verbose', '1', '1'], 2, /only apply to --xml/)
    json(['--pool', pool, '--format', 'v1', '1', '1'], 2, /only apply to --xml/)
    json(['--pool', pool, '--xml', '--json', '1', '2'], 3, /thin device 2 does not exist/)
    const xml = (args: string[], code: number, message: RegExp) => {
      const r = fvm(['plumbing', 'thin', 'delta', '--pool', pool, '--xml', ...args])
      expect(r.status, r.stderr).to.equal(code)
      expect(r.stdout).to.equal('')
      expect(r.stderr).to.match(message)
    }
    xml(['1', '2'], 3, /^error: thin device 2 does not exist/)
    xml(['--format', 'v2', '1', '1'], 2, /^error: invalid --format "v2": expected v0.9 or v1/)
    expect(fs.readdirSync(pool).sort(), 'no lock left behind').to.deep.equal(['data', 'metadata'])
  })
})
