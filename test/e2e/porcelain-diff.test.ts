// fvm diff through the built bin/fvm: exact extents and totals between tags and branches
// (merged by kind, clipped to the volume's size, through trees bigger than one btree
// leaf), the JSON shape, the table, refusals with their exit codes and nothing changed,
// and both refs picked from lists on a terminal.
import {expect} from 'chai'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {fvmBin} from '../support/cli.js'
import {TmuxPane} from '../support/tmux.js'
import {needTools} from '../support/tools.js'
import {BAD_NAMES, deviceOf, json, ok, refused, run, useInstance} from './porcelain-support.js'

const BLOCK = 64 * 1024
const MiB = 2 ** 20

describe('fvm diff (end to end)', function () {
  this.timeout(120_000)
  const t = useInstance()

  /** Imports `bytes` into the branch at block `at`. */
  function put(branch: string, at: number, bytes: Buffer): void {
    const file = path.join(t.dir, 'part.img')
    fs.writeFileSync(file, bytes)
    ok(t.home, 'volume', 'import', branch, file, '--offset', String(at * BLOCK))
  }

  /**
   * data (1 MiB): v1 holds blocks 0-7; since then the trunk rewrote block 4, then 2-3
   * (so the three changed blocks do not run on in the data file), zeroed block 6 and
   * wrote 10-11.
   */
  function populate(): void {
    ok(t.home, 'volume', 'create', 'data', '--size', '1MiB')
    put('data/trunk', 0, randomBytes(8 * BLOCK))
    ok(t.home, 'tag', 'v1@data')
    put('data/trunk', 4, randomBytes(BLOCK))
    put('data/trunk', 2, randomBytes(2 * BLOCK))
    put('data/trunk', 6, Buffer.alloc(BLOCK))
    put('data/trunk', 10, randomBytes(2 * BLOCK))
  }

  it('--json: the extents in bytes, merged by kind, with the totals and both refs', () => {
    populate()
    const diff = ok(t.home, 'diff', 'v1@data', 'data/trunk')
    expect(diff).to.deep.equal({
      volume: 'data',
      size: MiB,
      blockSize: BLOCK,
      left: {ref: 'v1@data', device: diff.left.device},
      right: {ref: 'data/trunk', device: deviceOf(t.home, 'data/trunk')},
      extents: [
        {offset: 2 * BLOCK, length: 3 * BLOCK, kind: 'changed'},
        {offset: 6 * BLOCK, length: BLOCK, kind: 'removed'},
        {offset: 10 * BLOCK, length: 2 * BLOCK, kind: 'added'},
      ],
      count: 3,
      changedBytes: 6 * BLOCK,
    })
    // The other way round: what was added is removed, and the reverse.
    expect(ok(t.home, 'diff', 'data/trunk', 'v1@data').extents).to.deep.equal([
      {offset: 2 * BLOCK, length: 3 * BLOCK, kind: 'changed'},
      {offset: 6 * BLOCK, length: BLOCK, kind: 'added'},
      {offset: 10 * BLOCK, length: 2 * BLOCK, kind: 'removed'},
    ])
    // This instance's fully named branch is the local one.
    expect(ok(t.home, 'diff', 'v1@data', 'alpha/data/trunk').changedBytes).to.equal(6 * BLOCK)
  })

  it('text: a table of extents and a summary line; nothing to show is said so', () => {
    populate()
    const text = run(t.home, ['diff', 'v1@data', 'data/trunk'])
    expect(text.status, text.stderr).to.equal(0)
    expect(text.stderr).to.equal('')
    expect(text.stdout).to.equal([
      ' OFFSET   LENGTH  KIND',
      ' 131072   196608  changed',
      ' 393216    65536  removed',
      ' 655360   131072  added',
      '3 extents, 384.0 KiB changed',
      '',
    ].join('\n'))
    ok(t.home, 'tag', 'v2@data')
    expect(run(t.home, ['diff', 'v2@data', 'data/trunk']).stdout).to.equal('0 extents, 0 B changed\n')
    expect(ok(t.home, 'diff', 'data/trunk', 'data/trunk')).to.deep.include({extents: [], count: 0, changedBytes: 0})
  })

  it('branches of one volume; the last block clipped to a size that is not a multiple of the block size', () => {
    ok(t.home, 'volume', 'create', 'odd', '--size', '100352')
    put('odd/trunk', 0, randomBytes(100_352))
    ok(t.home, 'branch', 'odd/feature')
    put('odd/feature', 1, randomBytes(100_352 - BLOCK))
    expect(ok(t.home, 'diff', 'odd/trunk', 'odd/feature')).to.deep.include({
      size: 100_352,
      extents: [{offset: BLOCK, length: 100_352 - BLOCK, kind: 'changed'}],
      changedBytes: 100_352 - BLOCK,
    })
  })

  it('exact through mapping trees of many leaves, where the walk skips what the two share', () => {
    ok(t.home, 'volume', 'create', 'big', '--size', '128MiB')
    const image = path.join(t.dir, 'big.img')
    fs.writeFileSync(image, randomBytes(64 * MiB))
    ok(t.home, 'volume', 'import', 'big/trunk', image)
    ok(t.home, 'tag', 'v1@big')
    for (const at of [100, 101, 900]) put('big/trunk', at, randomBytes(BLOCK))
    put('big/trunk', 1500, randomBytes(BLOCK))
    put('big/trunk', 1023, Buffer.alloc(BLOCK))
    expect(ok(t.home, 'diff', 'v1@big', 'big/trunk')).to.deep.include({
      extents: [
        {offset: 100 * BLOCK, length: 2 * BLOCK, kind: 'changed'},
        {offset: 900 * BLOCK, length: BLOCK, kind: 'changed'},
        {offset: 1023 * BLOCK, length: BLOCK, kind: 'removed'},
        {offset: 1500 * BLOCK, length: BLOCK, kind: 'added'},
      ],
      count: 4,
      changedBytes: 5 * BLOCK,
    })
  })

  it('refuses unknown refs (not found), bad names and refs of two volumes (usage), changing nothing', () => {
    populate()
    ok(t.home, 'volume', 'create', 'other', '--size', '1MiB')
    refused(t.home, ['diff', 'v1@data', 'data/nope'], 3, /^branch "data\/nope" does not exist$/)
    refused(t.home, ['diff', 'v9@data', 'data/trunk'], 3, /^tag "v9@data" does not exist$/)
    refused(t.home, ['diff', 'nope/trunk', 'data/trunk'], 3, /^volume "nope" does not exist$/)
    refused(t.home, ['diff', 'beta/data/trunk', 'data/trunk'], 3, /^remote branch "beta\/data\/trunk" does not exist$/)
    const apart = refused(t.home, ['diff', 'data/trunk', 'other/trunk'], 2, /^"data\/trunk" and "other\/trunk" are of different volumes \("data" and "other"\)$/)
    expect(apart.hint).to.equal('diff compares two branches, tags or remote branches of one volume')
    refused(t.home, ['diff', 'data', 'data/trunk'], 2, /^invalid reference "data": expected a branch/)
    // a/b/c is HOST/VOLUME/BRANCH here: a remote branch, not a bad name.
    for (const [name] of BAD_NAMES.filter(([n]) => n !== 'a/b/c')) refused(t.home, ['diff', '--', name, 'data/trunk'], 2, /^invalid (reference|volume name)/)
    refused(t.home, ['diff', 'a/b/c/d', 'data/trunk'], 2, /^invalid reference "a\/b\/c\/d": 3 "\/" where at most 2 fit/)
    refused(t.home, ['diff', 'data/trunk', '../x'], 2, /^invalid volume name "\.\." in "\.\.\/x": must not start with "\."$/)
  })

  it('without a terminal a missing ref fails fast with a hint', () => {
    populate()
    const first = json(t.home, ['diff'], 2).error
    expect(first).to.deep.include({kind: 'usage', message: 'cannot ask "Compare from:": not a terminal', hint: 'name both: fvm diff OLD NEW, e.g. fvm diff v1@mydata mydata/trunk'})
    const second = run(t.home, ['diff', 'v1@data'])
    expect(second.status).to.equal(2)
    expect(second.stderr).to.equal('error: cannot ask "Compare v1@data with:": not a terminal\nhint: name what to compare it with: fvm diff v1@data NEW\n')
  })

  describe('in a real terminal (tmux)', () => {
    let pane: TmuxPane | undefined
    before(function () {
      needTools(this, 'tmux')
    })
    afterEach(() => {
      pane?.kill()
      pane = undefined
    })

    it('both refs picked from lists: the second from the first one\'s volume', async () => {
      populate()
      ok(t.home, 'volume', 'create', 'other', '--size', '1MiB')
      pane = TmuxPane.start([process.execPath, fvmBin, 'diff'], {env: {FVM_HOME: t.home, NO_COLOR: '1'}})
      await pane.waitFor('Compare from:')
      pane.send('Down') // data/trunk, other/trunk, v1@data
      pane.send('Down')
      pane.send('Enter')
      const screen = await pane.waitFor('Compare v1@data with:')
      expect(screen).to.not.include('other/trunk')
      pane.send('Enter') // data/trunk, then v1@data
      expect(await pane.exitCode()).to.equal(0)
      expect(pane.screen()).to.include('3 extents, 384.0 KiB changed')
    })
  })
})
