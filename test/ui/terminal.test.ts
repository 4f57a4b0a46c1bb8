// What a person sees in a real terminal (tmux): colour on a TTY, none with NO_COLOR,
// prompts answered and refused, and prompts that never hang without a terminal.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {fvm, fvmBin, tempDir} from '../support/cli.js'
import {TmuxPane} from '../support/tmux.js'
import {needTools, repoRoot} from '../support/tools.js'

const fixture = path.join(repoRoot, 'test/ui/prompt-fixture.ts')
const tsx = path.join(repoRoot, 'node_modules/.bin/tsx')
// eslint-disable-next-line no-control-regex
const ESCAPE = /\u001B\[/

describe('in a real terminal (tmux)', () => {
  let dir: string
  let pane: TmuxPane | undefined
  before(function () {
    needTools(this, 'tmux')
  })
  beforeEach(() => {
    dir = tempDir()
  })
  afterEach(() => {
    pane?.kill()
    pane = undefined
    fs.rmSync(dir, {recursive: true, force: true})
  })

  it('colours errors on a TTY', async () => {
    const home = path.join(dir, 'h')
    fvm(['init', '--home', home])
    pane = TmuxPane.start([process.execPath, fvmBin, 'init', '--home', home], {env: {NO_COLOR: null}})
    expect(await pane.exitCode()).to.equal(4)
    expect(pane.screen({escapes: true})).to.match(ESCAPE)
    expect(pane.screen()).to.include('error: an fvm instance already exists')
  })

  it('prints no colour on a TTY when NO_COLOR is set', async () => {
    const home = path.join(dir, 'h')
    fvm(['init', '--home', home])
    pane = TmuxPane.start([process.execPath, fvmBin, 'init', '--home', home], {env: {NO_COLOR: '1'}})
    expect(await pane.exitCode()).to.equal(4)
    const screen = pane.screen({escapes: true})
    expect(screen).to.include('error: an fvm instance already exists')
    expect(screen).not.to.match(ESCAPE)
  })

  it('a confirmation can be answered yes', async () => {
    pane = TmuxPane.start([tsx, fixture, 'confirm'])
    await pane.waitFor('Really?')
    pane.send('y', {literal: true})
    pane.send('Enter')
    expect(await pane.exitCode()).to.equal(0)
    expect(pane.screen()).to.include('answer=true')
  })

  it('a refused confirmation answers no', async () => {
    pane = TmuxPane.start([tsx, fixture, 'confirm'])
    await pane.waitFor('Really?')
    pane.send('n', {literal: true})
    pane.send('Enter')
    expect(await pane.exitCode()).to.equal(0)
    expect(pane.screen()).to.include('answer=false')
  })

  it('a text prompt validates as typed and takes the answer', async () => {
    pane = TmuxPane.start([tsx, fixture, 'text'])
    await pane.waitFor('Volume name?')
    pane.send('a/b', {literal: true})
    pane.send('Enter')
    await pane.waitFor('must not contain "/"')
    pane.send('BSpace')
    pane.send('BSpace')
    pane.send('Enter')
    expect(await pane.exitCode()).to.equal(0)
    expect(pane.screen()).to.include('answer=a')
  })

  it('without a terminal a prompt fails fast with a hint and never hangs', () => {
    const started = Date.now()
    const r = spawnSync(tsx, [fixture, 'confirm'], {encoding: 'utf8', timeout: 20_000})
    expect(r.status).to.equal(2)
    expect(r.stderr).to.include('error: cannot ask "Really?": not a terminal\nhint: pass --yes')
    expect(Date.now() - started).to.be.below(20_000)
  })
})
