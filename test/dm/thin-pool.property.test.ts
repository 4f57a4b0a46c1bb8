// Random sequences of pool operations against a plain in-memory model. Every sequence
// ends with our own check (so fast-check can shrink a failure) and both thin_checks on
// its final metadata (run side by side once all sequences are done, as the Rust
// checker sleeps half a second per run).
import {expect} from 'chai'
import fc from 'fast-check'
import {FvmError} from '../../src/errors.js'
import {ThinPool} from '../../src/dm/thin/thin-pool.js'
import {THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {cleanupScratchDirs, expectPoolMatches, type Model, SequenceArchive} from './helpers.js'

type Command =
  | {op: 'create'; id: number}
  | {op: 'snap'; id: number; origin: number}
  | {op: 'map'; id: number; vblock: number; count: number}
  | {op: 'unmap'; id: number; vblock: number; count: number}
  | {op: 'delete'; id: number}
  | {op: 'commit'}
  | {op: 'reopen'}
  | {op: 'rollback'}

const id = fc.integer({min: 1, max: 5})
const vblock = fc.integer({min: 0, max: 3000})
const count = fc.integer({min: 1, max: 400})

const command: fc.Arbitrary<Command> = fc.oneof(
  {arbitrary: fc.record({op: fc.constant('create' as const), id}), weight: 3},
  {arbitrary: fc.record({op: fc.constant('snap' as const), id, origin: id}), weight: 3},
  {arbitrary: fc.record({op: fc.constant('map' as const), id, vblock, count}), weight: 6},
  {arbitrary: fc.record({op: fc.constant('unmap' as const), id, vblock, count}), weight: 4},
  {arbitrary: fc.record({op: fc.constant('delete' as const), id}), weight: 1},
  {arbitrary: fc.constant({op: 'commit' as const}), weight: 3},
  {arbitrary: fc.constant({op: 'reopen' as const}), weight: 1},
  {arbitrary: fc.constant({op: 'rollback' as const}), weight: 1},
)

const DATA_BLOCKS = 4000

function copyModel(m: Model): Model {
  return new Map([...m].map(([k, v]) => [k, new Map(v)]))
}

function expectError(fn: () => unknown, kind: FvmError['kind']): void {
  try {
    fn()
  } catch (err) {
    expect(err).to.be.instanceOf(FvmError)
    expect((err as FvmError).kind).to.equal(kind)
    return
  }
  expect.fail(`expected a ${kind} error`)
}

/** delta() between every two devices reports exactly the blocks they map differently. */
function expectDeltasMatch(pool: ThinPool, model: Model): void {
  const ids = [...model.keys()]
  for (const left of ids) {
    for (const right of ids) {
      const l = model.get(left)!
      const r = model.get(right)!
      const expected = [...new Set([...l.keys(), ...r.keys()])]
        .filter((v) => l.get(v) !== r.get(v))
        .sort((x, y) => x - y)
        .map((v) => [v, l.get(v), r.get(v)])
      const actual = [...pool.delta(left, right)].map((d) => [d.vblock, d.left?.dataBlock, d.right?.dataBlock])
      expect(actual, `delta ${left} ${right}`).to.deep.equal(expected)
    }
  }
}

/** Runs the commands on a new pool, checking it against the model; returns the metadata file. */
function runSequence(dir: string, commands: Command[]): void {
  let pool = ThinPool.format(dir, {dataBlocks: DATA_BLOCKS})
  let model: Model = new Map([[0, new Map()]])
  let committed = copyModel(model)
  try {
    for (const c of commands) {
      switch (c.op) {
        case 'create':
          if (model.has(c.id)) expectError(() => pool.createThin(c.id), 'conflict')
          else {
            pool.createThin(c.id)
            model.set(c.id, new Map())
          }
          break
        case 'snap':
          if (model.has(c.id)) expectError(() => pool.createSnap(c.id, c.origin), 'conflict')
          else if (!model.has(c.origin)) expectError(() => pool.createSnap(c.id, c.origin), 'notFound')
          else {
            pool.createSnap(c.id, c.origin)
            model.set(c.id, new Map(model.get(c.origin)))
          }
          break
        case 'map': {
          const m = model.get(c.id)
          if (!m) {
            expectError(() => pool.insert(c.id, c.vblock, 0), 'notFound')
            break
          }
          for (let v = c.vblock; v < c.vblock + c.count; v++) {
            const old = pool.lookup(c.id, v)
            expect(old?.dataBlock).to.equal(m.get(v))
            if (old && !old.shared) continue
            if (pool.status().usedDataBlocks === DATA_BLOCKS) {
              expectError(() => pool.allocateDataBlock(), 'noSpace')
              break
            }
            let b: number
            try {
              b = pool.allocateDataBlock()
            } catch (err) {
              // Blocks freed in this transaction only become usable after the commit.
              expect((err as FvmError).kind).to.equal('noSpace')
              break
            }
            pool.insert(c.id, v, b)
            m.set(v, b)
          }
          break
        }
        case 'unmap': {
          const m = model.get(c.id)
          if (!m) {
            expectError(() => pool.remove(c.id, c.vblock), 'notFound')
            break
          }
          for (let v = c.vblock; v < c.vblock + c.count; v++) expect(pool.remove(c.id, v)).to.equal(m.delete(v))
          break
        }
        case 'delete':
          if (!model.has(c.id)) expectError(() => pool.delete(c.id), 'notFound')
          else {
            pool.delete(c.id)
            model.delete(c.id)
          }
          break
        case 'commit':
          pool.commit()
          committed = copyModel(model)
          break
        case 'reopen':
          pool.close()
          pool = ThinPool.open(dir)
          model = copyModel(committed)
          expectPoolMatches(pool, model)
          break
        case 'rollback':
          pool.rollback()
          model = copyModel(committed)
          break
      }
    }
    expectPoolMatches(pool, model)
    expectDeltasMatch(pool, model)
    pool.commit()
    pool.close()
    pool = ThinPool.open(dir)
    expectPoolMatches(pool, model)
  } finally {
    pool.close()
  }
}

describe('dm ThinPool against a model', function () {
  before(function () {
    needTools(this, ...THIN_TOOLS)
  })
  after(cleanupScratchDirs)

  it('agrees with the model over 200 random sequences, and thin_check passes after each', async function () {
    this.timeout(300_000)
    const archive = new SequenceArchive<Command[]>()
    fc.assert(
      fc.property(fc.array(command, {minLength: 1, maxLength: 40}), (commands) => {
        archive.run(commands, (dir) => runSequence(dir, commands))
      }),
      {numRuns: 200, seed: 20240611},
    )
    expect(archive.size).to.be.at.least(200)
    await archive.assertThinCheckPasses()
  })
})
