// Commands that need an answer: without a terminal (stdin closed, a deadline) they fail
// at once with the usage code and a hint naming what to pass, changing nothing; in a
// real terminal (tmux) they ask, and act on the answer.
import {expect} from 'chai'
import {fvmBin, snapshotTree} from '../support/cli.js'
import {TmuxPane} from '../support/tmux.js'
import {needTools} from '../support/tools.js'
import {type Json, json, ok, run, useInstance, writeBlocks} from './porcelain-support.js'

/** Each command missing an answer, and the hint it must give. */
const UNANSWERED: [string[], string][] = [
  [['volume', 'create', '--size', '1M'], 'name it: fvm volume create NAME --size SIZE'],
  [['volume', 'create', 'new'], 'pass --size: fvm volume create NAME --size SIZE'],
  [['volume', 'info'], 'name it: fvm volume info NAME'],
  [['volume', 'inspect'], 'name it: fvm volume inspect NAME'],
  [['volume', 'rm'], 'name it: fvm volume rm NAME'],
  [['volume', 'rm', 'data'], 'pass --yes to remove it without asking'],
  [['branch', 'rm'], 'name it: fvm branch rm VOLUME/BRANCH'],
  [['branch', 'rm', 'data/feature'], 'pass --yes to remove it without asking'],
  [['branch', 'rename'], 'name it: fvm branch rename VOLUME/OLD NEW'],
  [['branch', 'rename', 'data/feature'], 'pass the new name: fvm branch rename VOLUME/OLD NEW'],
  [['tag', 'rm'], 'name it: fvm tag rm TAG@VOLUME'],
  [['tag', 'rm', 'v1@data'], 'pass --yes to remove it without asking'],
  [['rollback'], 'name it: fvm rollback VOLUME/BRANCH TAG'],
  [['rollback', 'data/trunk'], 'name the tag: fvm rollback VOLUME/BRANCH TAG'],
  [['rollback', 'data/trunk', 'v1'], 'pass --yes to go ahead without asking'],
  [['rollback', '--undo'], 'name it: fvm rollback --undo VOLUME/BRANCH'],
  [['rollback', '--undo', 'data/trunk'], 'pass --yes to go ahead without asking'],
  [['log'], 'name it: fvm log VOLUME or fvm log VOLUME/BRANCH'],
]

describe('prompts (end to end)', function () {
  this.timeout(60_000)
  const t = useInstance()

  function populate(): void {
    ok(t.home, 'volume', 'create', 'data', '--size', '64M')
    ok(t.home, 'branch', 'data/feature')
    ok(t.home, 'tag', 'v1@data')
  }

  it('without a terminal every missing answer fails fast with a hint, in text and --json, changing nothing', () => {
    populate()
    const before = snapshotTree(t.home)
    for (const [args, hint] of UNANSWERED) {
      const started = Date.now()
      const text = run(t.home, args)
      expect(text.status, args.join(' ')).to.equal(2)
      expect(text.stderr, args.join(' ')).to.match(new RegExp(`^error: cannot ask ".*": not a terminal\\nhint: ${hint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n$`))
      expect(Date.now() - started, args.join(' ')).to.be.below(10_000)
      expect(json(t.home, args, 2).error).to.deep.include({kind: 'usage', hint})
    }
    expect(snapshotTree(t.home)).to.deep.equal(before)
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

    const start = (...args: string[]): TmuxPane => TmuxPane.start([process.execPath, fvmBin, ...args], {env: {FVM_HOME: t.home, NO_COLOR: '1'}})

    it('volume rm: a refused confirmation aborts with its code and leaves everything as it was', async () => {
      populate()
      const before = snapshotTree(t.home)
      pane = start('volume', 'rm', 'data')
      await pane.waitFor('Remove volume "data" (branches: data/feature, data/trunk) with all its tags? This cannot be undone.')
      pane.send('n', {literal: true})
      pane.send('Enter')
      expect(await pane.exitCode()).to.equal(8)
      expect(pane.screen()).to.include('error: volume "data" was not removed')
      expect(snapshotTree(t.home)).to.deep.equal(before)
    })

    it('rollback: the branch and tag picked from lists, the confirmation answered yes', async () => {
      populate()
      writeBlocks(t.home, 'data/trunk', [0, 1, 2])
      pane = start('rollback')
      await pane.waitFor('Branch to roll back:')
      pane.send('Down') // data/feature, then data/trunk
      pane.send('Enter')
      await pane.waitFor('Roll data/trunk back to:')
      pane.send('Enter') // v1@data, the only tag
      await pane.waitFor('Roll data/trunk back to v1@data? Its current content is kept for --undo.')
      pane.send('y', {literal: true})
      pane.send('Enter')
      expect(await pane.exitCode()).to.equal(0)
      expect(pane.screen()).to.include('Rolled data/trunk back to v1@data; to undo: fvm rollback --undo data/trunk')
      const log = ok(t.home, 'log', 'data/trunk').entries as Json[]
      expect(log[0]).to.deep.include({kind: 'reflog', action: 'rollback', tags: ['v1@data']})
      const trunk = (ok(t.home, 'volume', 'inspect', 'data').devices as Json[]).find((d) => d.branch === 'trunk')!
      expect(trunk.details.mappedBlocks).to.equal(0)
    })

    it('branch rename: the missing new name is asked for, checked as typed, and used', async () => {
      populate()
      pane = start('branch', 'rename', 'data/feature')
      await pane.waitFor('New name for data/feature:')
      pane.send('../x', {literal: true})
      pane.send('Enter')
      await pane.waitFor('must not contain "/"')
      for (let i = 0; i < 4; i++) pane.send('BSpace')
      pane.send('main', {literal: true})
      pane.send('Enter')
      expect(await pane.exitCode()).to.equal(0)
      expect(pane.screen()).to.include('Renamed branch data/feature to data/main')
      expect((ok(t.home, 'branch') as Json[]).map((b) => b.branch)).to.deep.equal(['data/main', 'data/trunk'])
    })

    it('--json on a terminal never asks: it fails fast like a script', async () => {
      populate()
      pane = start('volume', 'rm', 'data', '--json')
      expect(await pane.exitCode()).to.equal(2)
      expect(pane.screen()).to.include('"hint": "pass --yes to remove it without asking"')
      expect((ok(t.home, 'volume', 'list') as Json[]).map((v) => v.name)).to.deep.equal(['data'])
    })
  })
})
