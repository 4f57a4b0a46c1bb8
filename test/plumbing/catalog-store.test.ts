import {spawn} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {isDeepStrictEqual} from 'node:util'
import {expect} from 'chai'
import {crc32c} from '../../src/dm/pdata/crc32c.js'
import {type FileSystem, nodeFileSystem} from '../../src/dm/pdata/file-io.js'
import {FvmError} from '../../src/errors.js'
import {BLOCK_BYTES, HEADER_BYTES, RECORDS_START, alignUp} from '../../src/plumbing/catalog/format.js'
import {reconcile} from '../../src/plumbing/catalog/reconcile.js'
import {type CatalogFailpointName, CatalogStore} from '../../src/plumbing/catalog/store.js'
import {
  N,
  RECONCILE,
  SIDES,
  STEPS,
  STEP_FAILPOINTS,
  type Sample,
  type Side,
  type Snapshot,
  type Step,
  applyStep,
  runStep,
  setUpBefore,
  valueOf,
} from './catalog-scenario.js'
import {type Fault, FaultyFileSystem, SimulatedDisk} from './file-system-doubles.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, '../..')
const made: string[] = []

/** A path for a catalog in a new empty directory. */
function scratchFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fvm-catalog-'))
  made.push(dir)
  return path.join(dir, 'catalog')
}

/** A copy of the file in a new directory (no file there either, if there is none). */
function copyOf(file: string): string {
  const copy = scratchFile()
  if (fs.existsSync(file)) fs.copyFileSync(file, copy)
  return copy
}

function expectFvmError(fn: () => unknown, kind: FvmError['kind'], message: RegExp): FvmError {
  try {
    fn()
  } catch (err) {
    expect(err).to.be.instanceOf(FvmError)
    expect((err as FvmError).kind, (err as Error).message).to.equal(kind)
    expect((err as FvmError).message).to.match(message)
    return err as FvmError
  }
  return expect.fail(`expected a ${kind} error matching ${message}`)
}

function snapshotOf(store: CatalogStore<Sample>): Snapshot {
  const prepared = store.prepared()
  return prepared ? {committed: store.committed(), prepared} : {committed: store.committed()}
}

/** What a fresh open reads, or undefined when there is no catalog. */
function readSnapshot(file: string, fileSystem: FileSystem = nodeFileSystem): Snapshot | undefined {
  if (!fileSystem.exists(file)) return undefined
  const store = CatalogStore.open<Sample>(file, {fs: fileSystem})
  try {
    return snapshotOf(store)
  } finally {
    store.close()
  }
}

/** Which side of `step` the snapshot is on; anything else is a mix and fails. */
function sideOf(step: Step, snapshot: Snapshot | undefined): Side {
  if (isDeepStrictEqual(snapshot, SIDES[step].before)) return 'before'
  if (isDeepStrictEqual(snapshot, SIDES[step].after)) return 'after'
  return expect.fail(`${step}: the store reads neither the state before nor after: ${JSON.stringify(snapshot)?.slice(0, 200)}`)
}

/**
 * Reads the crashed catalog, checks it is on one side of `step`, then reconciles fresh
 * copies with a pool at N and at N + 1 and checks each against the recovery rule.
 */
function expectRecovers(step: Step, fresh: () => {file: string; fs: FileSystem}): Side {
  const first = fresh()
  const side = sideOf(step, readSnapshot(first.file, first.fs))
  for (const pool of [N, N + 1]) {
    const expected = RECONCILE[step][side][pool]
    if (expected === undefined) continue
    const c = fresh()
    const store = CatalogStore.open<Sample>(c.file, {fs: c.fs})
    try {
      if (expected === 'corrupt') {
        expectFvmError(() => reconcile(store, pool), 'corrupt', /does not match the pool's transaction/)
        continue
      }
      expect(reconcile(store, pool), `${step} ${side}, pool at ${pool}`).to.equal(expected)
    } finally {
      store.close()
    }
    expect(readSnapshot(c.file, c.fs)).to.deep.equal({committed: {txid: pool, value: valueOf(pool)}})
  }
  return side
}

function patch(file: string, position: number, bytes: Buffer): void {
  const fd = fs.openSync(file, 'r+')
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, position)
  } finally {
    fs.closeSync(fd)
  }
}

function readBytes(file: string, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length)
  const fd = fs.openSync(file, 'r')
  try {
    fs.readSync(fd, buf, 0, length, position)
  } finally {
    fs.closeSync(fd)
  }
  return buf
}

function prng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

describe('plumbing catalog store', () => {
  after(() => {
    for (const dir of made.splice(0)) fs.rmSync(dir, {recursive: true, force: true})
  })

  describe('transactions', () => {
    it('creates, prepares, commits and aborts, and every step survives a reopen', () => {
      const file = scratchFile()
      const store = CatalogStore.create(file, valueOf(5), 5)
      expect(snapshotOf(store)).to.deep.equal({committed: {txid: 5, value: valueOf(5)}})
      expect(readSnapshot(file)).to.deep.equal(snapshotOf(store))

      store.prepare(6, valueOf(6))
      const prepared = {committed: {txid: 5, value: valueOf(5)}, prepared: {txid: 6, value: valueOf(6)}}
      expect(snapshotOf(store)).to.deep.equal(prepared)
      expect(readSnapshot(file)).to.deep.equal(prepared)

      store.commit()
      expect(snapshotOf(store)).to.deep.equal({committed: {txid: 6, value: valueOf(6)}})
      expect(readSnapshot(file)).to.deep.equal(snapshotOf(store))

      store.prepare(7, valueOf(7))
      store.abort()
      expect(snapshotOf(store)).to.deep.equal({committed: {txid: 6, value: valueOf(6)}})
      expect(readSnapshot(file)).to.deep.equal(snapshotOf(store))
      store.close()

      const reopened = CatalogStore.open<Sample>(file)
      reopened.prepare(7, valueOf(7))
      reopened.close()
      const again = CatalogStore.open<Sample>(file)
      again.commit()
      again.close()
      expect(readSnapshot(file)).to.deep.equal({committed: {txid: 7, value: valueOf(7)}})
    })

    it('reads the committed record alone for lock-free readers, and never a torn one', () => {
      const file = scratchFile()
      const store = CatalogStore.create(file, valueOf(5), 5)
      store.prepare(6, valueOf(6))
      store.close()
      expect(CatalogStore.readCommitted(file)).to.deep.equal({txid: 5, value: valueOf(5)})
      // What a writer overwriting the record meanwhile would leave: its checksum fails.
      patch(file, RECORDS_START + 2, Buffer.from('xx'))
      expectFvmError(() => CatalogStore.readCommitted(file), 'corrupt', /committed record \(transaction 5\) fails its checksum$/)
      expectFvmError(() => CatalogStore.readCommitted(`${file}-missing`), 'notFound', /does not exist$/)
    })

    it('hands out copies, so callers cannot change what it holds', () => {
      const store = CatalogStore.create(scratchFile(), valueOf(5), 5)
      store.committed().value.volumes.length = 0
      expect(store.committed().value).to.deep.equal(valueOf(5))
      store.close()
    })

    it('refuses to create over an existing file and to open a missing one', () => {
      const file = scratchFile()
      CatalogStore.create(file, {}, 0).close()
      expectFvmError(() => CatalogStore.create(file, {}, 0), 'conflict', /^catalog ".*catalog" already exists$/)
      expectFvmError(() => CatalogStore.open(`${file}-missing`), 'notFound', /^catalog ".*catalog-missing" does not exist$/)
    })

    it('replaces the leftover of an interrupted create', () => {
      const file = scratchFile()
      fs.writeFileSync(`${file}.new`, 'half a catalog')
      CatalogStore.create(file, {ok: true}, 3).close()
      expect(fs.existsSync(`${file}.new`)).to.equal(false)
      expect(readSnapshot(file)?.committed).to.deep.equal({txid: 3, value: {ok: true}})
    })

    it('makes the file 0600 whatever the umask', () => {
      const file = scratchFile()
      const old = process.umask(0)
      try {
        CatalogStore.create(file, {}, 0).close()
      } finally {
        process.umask(old)
      }
      expect(fs.statSync(file).mode & 0o777).to.equal(0o600)
    })

    it('allows one prepared transaction at a time, at the committed id + 1', () => {
      const file = scratchFile()
      const store = CatalogStore.create(file, {n: 1}, 1)
      expectFvmError(() => store.prepare(3, {n: 3}), 'conflict', /cannot prepare transaction 3 on top of 1$/)
      expectFvmError(() => store.prepare(1, {n: 1}), 'conflict', /cannot prepare transaction 1 on top of 1$/)
      expectFvmError(() => store.commit(), 'conflict', /no prepared transaction to commit$/)
      expectFvmError(() => store.abort(), 'conflict', /no prepared transaction to abort$/)
      store.prepare(2, {n: 2})
      const err = expectFvmError(() => store.prepare(2, {n: 2}), 'conflict', /transaction 2 is already prepared$/)
      expect(err.hint).to.equal('commit or abort it first')
      expect(() => store.prepare(-1, {n: -1})).to.throw(RangeError)
      store.close()
      expect(() => store.committed()).to.throw(/is closed/)
    })

    it('lays the file out as store.ts documents', () => {
      const file = scratchFile()
      const store = CatalogStore.create(file, valueOf(5), 5)
      store.prepare(6, valueOf(6))
      store.close()
      // Sequence 2 (create wrote 0 and 1) goes to copy 0.
      const h = readBytes(file, 0, HEADER_BYTES)
      expect(h.readUInt32LE(0)).to.equal(crc32c(h.subarray(4)))
      expect(h.subarray(4, 12).toString('latin1')).to.equal('FVMCATLG')
      expect(h.readUInt32LE(12)).to.equal(1)
      expect(Number(h.readBigUInt64LE(16))).to.equal(2)
      expect(h.readUInt32LE(24)).to.equal(1)
      const record = (at: number) => {
        const offset = Number(h.readBigUInt64LE(at))
        const length = Number(h.readBigUInt64LE(at + 8))
        const bytes = readBytes(file, offset, length)
        expect(h.readUInt32LE(at + 24)).to.equal(crc32c(bytes))
        return {offset, length, txid: Number(h.readBigUInt64LE(at + 16)), value: JSON.parse(bytes.toString('utf8'))}
      }
      const committed = record(32)
      const prepared = record(64)
      expect(committed).to.include({offset: RECORDS_START, txid: 5})
      expect(committed.value).to.deep.equal(valueOf(5))
      expect(committed.length).to.equal(Buffer.byteLength(JSON.stringify(valueOf(5))))
      expect(prepared).to.include({offset: RECORDS_START + alignUp(committed.length), txid: 6})
      expect(prepared.value).to.deep.equal(valueOf(6))
      expect(h.subarray(96).equals(Buffer.alloc(HEADER_BYTES - 96))).to.equal(true)
      // Copy 1 still holds sequence 1, without the prepared record.
      const h1 = readBytes(file, BLOCK_BYTES, HEADER_BYTES)
      expect(Number(h1.readBigUInt64LE(16))).to.equal(1)
      expect(h1.readUInt32LE(24)).to.equal(0)
    })

    it('stays bounded over 1,000 commits of ~100 KiB values, and shrinks back', () => {
      const file = scratchFile()
      const store = CatalogStore.create(file, {txid: 0, pad: ''}, 0)
      const random = prng(42)
      let largest = 0
      let peak = 0
      for (let txid = 1; txid <= 1000; txid++) {
        const value = {txid, pad: 'x'.repeat(80 * 1024 + Math.floor(random() * 40 * 1024))}
        largest = Math.max(largest, JSON.stringify(value).length)
        store.prepare(txid, value)
        store.commit()
        peak = Math.max(peak, fs.statSync(file).size)
      }
      expect(peak).to.be.at.most(RECORDS_START + 3 * alignUp(largest))
      for (let txid = 1001; txid <= 1003; txid++) {
        store.prepare(txid, {txid, pad: ''})
        store.commit()
      }
      expect(fs.statSync(file).size).to.be.at.most(RECORDS_START + 2 * BLOCK_BYTES)
      store.close()
      expect(readSnapshot(file as string)?.committed.txid).to.equal(1003)
    })
  })

  describe('reconcile with the pool', () => {
    function catalogAt(prepare: boolean): string {
      const file = scratchFile()
      const store = CatalogStore.create(file, valueOf(N), N)
      if (prepare) store.prepare(N + 1, valueOf(N + 1))
      store.close()
      return file
    }

    function reconcileFile(file: string, pool: number): ReturnType<typeof reconcile> {
      const store = CatalogStore.open<Sample>(file)
      try {
        return reconcile(store, pool)
      } finally {
        store.close()
      }
    }

    it('is clean when the ids agree and nothing is prepared', () => {
      const file = catalogAt(false)
      expect(reconcileFile(file, N)).to.equal('clean')
      expect(readSnapshot(file)).to.deep.equal({committed: {txid: N, value: valueOf(N)}})
    })

    it('rolls a prepared record forward when the pool committed its transaction', () => {
      const file = catalogAt(true)
      expect(reconcileFile(file, N + 1)).to.equal('rolledForward')
      expect(readSnapshot(file)).to.deep.equal({committed: {txid: N + 1, value: valueOf(N + 1)}})
    })

    it('aborts a prepared record when the pool did not commit its transaction', () => {
      const file = catalogAt(true)
      expect(reconcileFile(file, N)).to.equal('aborted')
      expect(readSnapshot(file)).to.deep.equal({committed: {txid: N, value: valueOf(N)}})
    })

    for (const [prepared, pool, catalog] of [
      [false, N + 1, `${N}`],
      [false, N + 2, `${N}`],
      [false, N - 1, `${N}`],
      [true, N + 2, `${N} \\(${N + 1} prepared\\)`],
      [true, N - 1, `${N} \\(${N + 1} prepared\\)`],
    ] as const) {
      it(`refuses a catalog at ${N}${prepared ? ` with ${N + 1} prepared` : ''} and a pool at ${pool}`, () => {
        const file = catalogAt(prepared)
        const before = readSnapshot(file)
        const message = new RegExp(`^catalog ".*": its transaction ${catalog} does not match the pool's transaction ${pool}$`)
        const err = expectFvmError(() => reconcileFile(file, pool), 'corrupt', message)
        expect(err.hint).to.equal('run "fvm check"')
        expect(readSnapshot(file)).to.deep.equal(before)
      })
    }
  })

  describe('damage', () => {
    /** A catalog at 5 whose newest header (sequence 2, copy 0) prepares 6. */
    function prepared(): string {
      const file = scratchFile()
      const store = CatalogStore.create(file, valueOf(5), 5)
      store.prepare(6, valueOf(6))
      store.close()
      return file
    }
    const before = {committed: {txid: 5, value: valueOf(5)}}

    it('falls back to the other header when the newest is garbage or half written', () => {
      const garbage = Buffer.alloc(HEADER_BYTES)
      const random = prng(7)
      for (let i = 0; i < garbage.length; i++) garbage[i] = Math.floor(random() * 256)
      for (const damage of [garbage, garbage.subarray(0, 256), Buffer.alloc(256)]) {
        const file = prepared()
        patch(file, 0, damage)
        expect(readSnapshot(file)).to.deep.equal(before)
        // The damaged copy is the next one written, and the store carries on.
        const store = CatalogStore.open<Sample>(file)
        store.prepare(6, valueOf(7))
        store.commit()
        store.close()
        expect(readSnapshot(file)).to.deep.equal({committed: {txid: 6, value: valueOf(7)}})
      }
    })

    it('ignores a damaged older header', () => {
      const file = prepared()
      patch(file, BLOCK_BYTES + 100, Buffer.from('rot'))
      expect(readSnapshot(file)?.prepared).to.deep.equal({txid: 6, value: valueOf(6)})
    })

    it('reports both headers damaged as corrupt', () => {
      const file = prepared()
      patch(file, 20, Buffer.from([0xff]))
      patch(file, BLOCK_BYTES + 20, Buffer.from([0xff]))
      const err = expectFvmError(() => CatalogStore.open(file), 'corrupt', /^catalog ".*catalog": both headers are damaged$/)
      expect(err.hint).to.equal('run "fvm check"')
    })

    it('refuses a sealed header it cannot trust instead of falling back past it', () => {
      const wrongSlot = prepared()
      patch(wrongSlot, BLOCK_BYTES, readBytes(wrongSlot, 0, HEADER_BYTES))
      expectFvmError(
        () => CatalogStore.open(wrongSlot),
        'corrupt',
        /header copy 1 has sequence number 2, which belongs in the other copy$/,
      )
      const newer = prepared()
      const h = readBytes(newer, 0, HEADER_BYTES)
      h.writeUInt32LE(2, 12)
      h.writeUInt32LE(crc32c(h.subarray(4)), 0)
      patch(newer, 0, h)
      expectFvmError(() => CatalogStore.open(newer), 'corrupt', /header copy 0 has format version 2, this fvm reads 1$/)
    })

    it('reports a damaged committed or prepared record as corrupt', () => {
      const committed = prepared()
      patch(committed, RECORDS_START + 10, Buffer.from('#'))
      expectFvmError(() => CatalogStore.open(committed), 'corrupt', /committed record \(transaction 5\) fails its checksum$/)
      const pending = prepared()
      const at = RECORDS_START + alignUp(Buffer.byteLength(JSON.stringify(valueOf(5))))
      patch(pending, at + 10, Buffer.from('#'))
      expectFvmError(() => CatalogStore.open(pending), 'corrupt', /prepared record \(transaction 6\) fails its checksum$/)
      const cut = prepared()
      fs.truncateSync(cut, at + 100)
      expectFvmError(() => CatalogStore.open(cut), 'corrupt', /prepared record \(transaction 6\) is cut short: 100 of \d+ bytes$/)
    })
  })

  describe('crash at every failpoint (SIGKILL)', () => {
    const fixture = path.join(here, 'catalog-crash-child.ts')
    const runs = new Map<string, Promise<{file: string; signal: NodeJS.Signals | null; code: number | null; stderr: string}>>()

    function kill(step: Step, failpoint: CatalogFailpointName) {
      const file = scratchFile()
      setUpBefore(file, step)
      return new Promise<{file: string; signal: NodeJS.Signals | null; code: number | null; stderr: string}>(
        (resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', fixture, file, step, failpoint], {
            cwd: repoRoot,
            stdio: ['ignore', 'ignore', 'pipe'],
          })
          let stderr = ''
          child.stderr.on('data', (d) => (stderr += d))
          child.on('error', reject)
          child.on('exit', (code, signal) => resolve({file, signal, code, stderr}))
        },
      )
    }

    // All children start at once, so the whole matrix costs about one Node startup.
    before(() => {
      for (const step of STEPS) for (const fp of STEP_FAILPOINTS[step]) runs.set(`${step} ${fp}`, kill(step, fp))
    })

    /** After a process crash the page cache survives, so a written header counts. */
    function sideAfterKill(step: Step, fp: CatalogFailpointName): Side {
      if (step === 'create') return fp === 'catalog.afterRename' ? 'after' : 'before'
      return fp === 'catalog.afterHeaderWrite' || fp === 'catalog.afterHeaderSync' ? 'after' : 'before'
    }

    for (const step of STEPS) {
      for (const fp of STEP_FAILPOINTS[step]) {
        const side = sideAfterKill(step, fp)
        it(`${step}, killed at ${fp}: reads as ${side} the step and reconciles`, async () => {
          const run = await runs.get(`${step} ${fp}`)!
          expect(run.signal, `exit ${run.code}: ${run.stderr}`).to.equal('SIGKILL')
          expect(expectRecovers(step, () => ({file: copyOf(run.file), fs: nodeFileSystem}))).to.equal(side)
          if (step === 'create' && side === 'before') {
            CatalogStore.create(run.file, valueOf(N), N).close()
            expect(readSnapshot(run.file)).to.deep.equal(SIDES.create.after)
          }
        })
      }
    }
  })

  describe('power loss at every failpoint (simulated disk)', () => {
    const steps = ['prepare', 'commit', 'abort'] as const
    for (const step of steps) {
      it(`${step}: every crash image reads as before or after the step, and reconciles`, () => {
        const real = scratchFile()
        setUpBefore(real, step)
        const file = '/simulated/pool/catalog'
        const disk = new SimulatedDisk({[file]: fs.readFileSync(real)})
        const images = new Map<CatalogFailpointName, Buffer[]>()
        runStep(file, step, {fs: disk, failpoint: (name) => images.set(name, disk.crashImages(file))})
        expect([...images.keys()]).to.deep.equal(STEP_FAILPOINTS[step])
        for (const [fp, list] of images) {
          const sides = new Set(
            list.map((image) => expectRecovers(step, () => ({file, fs: new SimulatedDisk({[file]: image})}))),
          )
          if (fp === 'catalog.afterHeaderWrite') expect([...sides].sort(), fp).to.deep.equal(['after', 'before'])
          else expect([...sides], fp).to.deep.equal([fp === 'catalog.afterHeaderSync' ? 'after' : 'before'])
        }
      })
    }

    it('finds the damage when a disk ignores fdatasync, so the check above can fail', () => {
      const real = scratchFile()
      setUpBefore(real, 'prepare')
      const file = '/simulated/pool/catalog'
      const disk = new SimulatedDisk({[file]: fs.readFileSync(real)})
      const lying: FileSystem = {
        open: (p, flags) => ({...disk.open(p, flags), fdatasync: () => {}}),
        rename: (from, to) => disk.rename(from, to),
        unlink: (p) => disk.unlink(p),
        exists: (p) => disk.exists(p),
      }
      let images: Buffer[] = []
      runStep(file, 'prepare', {
        fs: lying,
        failpoint: (name) => {
          if (name === 'catalog.afterHeaderWrite') images = disk.crashImages(file)
        },
      })
      const damaged = images.filter((image) => {
        try {
          readSnapshot(file, new SimulatedDisk({[file]: image}))
          return false
        } catch (err) {
          return err instanceof FvmError && err.kind === 'corrupt'
        }
      })
      expect(damaged.length).to.be.greaterThan(0)
    })
  })

  describe('I/O errors', () => {
    for (const step of ['prepare', 'commit', 'abort'] as const) {
      it(`${step}: a failed write or sync leaves the previous state readable`, () => {
        const base = scratchFile()
        setUpBefore(base, step)
        const counter = new FaultyFileSystem(nodeFileSystem)
        runStep(copyOf(base), step, {fs: counter})
        const {pwrite, sync, truncate} = counter.counts
        expect(pwrite).to.equal(step === 'prepare' ? 2 : 1)
        const faults: Fault[] = [
          ...Array.from({length: pwrite}, (_, i) =>
            [undefined, 'head' as const, 'half' as const].map((torn) => ({op: 'pwrite' as const, nth: i + 1, torn})),
          ).flat(),
          ...Array.from({length: sync}, (_, i) => ({op: 'sync' as const, nth: i + 1})),
          ...Array.from({length: truncate}, (_, i) => ({op: 'truncate' as const, nth: i + 1})),
        ]
        for (const fault of faults) {
          const file = copyOf(base)
          const store = CatalogStore.open<Sample>(file, {fs: new FaultyFileSystem(nodeFileSystem, fault)})
          const label = JSON.stringify(fault)
          expectFvmError(() => applyStep(store, step), 'failure', /^catalog ".*catalog": cannot (write|sync|cut off) .*: EIO/)
          const headerStage = fault.op !== 'truncate' && fault.nth === counter.counts[fault.op]
          // A failed header fsync leaves the new header in the page cache. A torn header
          // write lands it too if the part written holds every byte that differs from
          // the copy it overwrites (half of it always does: bytes 96..511 are zero).
          let allowed: Side[] = ['before']
          if (headerStage && fault.op === 'sync') allowed = ['after']
          else if (headerStage && fault.torn) allowed = ['before', 'after']
          expect(allowed, label).to.include(sideOf(step, readSnapshot(file)))
          if (headerStage) {
            expectFvmError(() => store.committed(), 'failure', /state is unknown$/)
          } else {
            applyStep(store, step)
            expect(sideOf(step, readSnapshot(file)), `${label}, retried`).to.equal('after')
          }
          store.close()
        }
      })
    }
  })
})
