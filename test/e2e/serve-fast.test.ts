// `fvm serve` as push, pull and fetch start it skips oclif (bin/fvm.js, src/ui/serve-fast.ts):
// each run here goes both ways, through bin/fvm and through oclif's own execute() (as
// the built dist/cli.js runs it), and must give the same exit code, stderr and protocol
// bytes on stdout.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {MESSAGE_KIND, PROTOCOL_VERSION} from '../../src/plumbing/replicate/session.js'
import {encodeJsonFrame} from '../../src/plumbing/stream/frames.js'
import {plainServeFlags} from '../../src/ui/serve-fast.js'
import {fvm, fvmBin, tempDir} from '../support/cli.js'
import {repoRoot} from '../support/tools.js'

const cliBundle = path.join(repoRoot, 'dist/cli.js')
const UUID = '00000000-0000-4000-8000-000000000001'
const hello = encodeJsonFrame(MESSAGE_KIND, {op: 'hello', protocol: PROTOCOL_VERSION, instance: {name: 'sender', uuid: UUID}})
const bye = encodeJsonFrame(MESSAGE_KIND, {op: 'bye'})

interface Run {
  status: number | null
  stdout: string
  stderr: string
}

function serve(args: string[], input: Buffer, env: NodeJS.ProcessEnv, viaOclif: boolean): Run {
  const argv = viaOclif
    ? ['--input-type=module', '-e', `const {run} = await import(${JSON.stringify(cliBundle)}); await run(${JSON.stringify(['serve', ...args])})`]
    : [fvmBin, 'serve', ...args]
  const childEnv: NodeJS.ProcessEnv = {...process.env, ...env}
  for (const name of ['FVM_HOME', 'SSH_ORIGINAL_COMMAND', 'FVM_DEBUG', 'FVM_FAILPOINT', 'FVM_CONTENT_TYPE']) if (!(name in env)) delete childEnv[name]
  const r = spawnSync(process.execPath, argv, {cwd: repoRoot, input, env: childEnv, encoding: 'latin1'})
  if (r.error) throw r.error
  return {status: r.status, stdout: r.stdout, stderr: r.stderr}
}

describe('fvm serve without oclif', function () {
  this.timeout(60_000)
  let dir: string
  let home: string

  before(() => {
    dir = tempDir('fvm-serve-')
    home = path.join(dir, 'beta')
    expect(fvm(['init', '--home', home, '--size', '64MiB', '--name', 'beta']).status).to.equal(0)
  })
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  const cases: Array<{what: string; args: () => string[]; input: Buffer; env?: () => NodeJS.ProcessEnv; status: number}> = [
    {what: 'a whole session', args: () => ['--home', home], input: Buffer.concat([hello, bye]), status: 0},
    {what: '--home=DIR --read-only', args: () => [`--home=${home}`, '--read-only'], input: Buffer.concat([hello, bye]), status: 0},
    {what: 'no instance at --home', args: () => ['--home', path.join(dir, 'none')], input: hello, status: 3},
    {what: 'no instance at $FVM_HOME', args: () => [], input: hello, env: () => ({FVM_HOME: path.join(dir, 'none')}), status: 3},
    {what: 'no hello', args: () => ['--home', home], input: Buffer.alloc(0), status: 7},
    {what: 'a refused forced-command request', args: () => ['--home', home], input: hello, env: () => ({SSH_ORIGINAL_COMMAND: 'rm -rf /'}), status: 2},
    {what: 'a bad failpoint', args: () => ['--home', home], input: hello, env: () => ({FVM_FAILPOINT: 'nowhere'}), status: 2},
  ]
  for (const c of cases) {
    it(`answers as oclif does: ${c.what}`, () => {
      const env = c.env?.() ?? {}
      const fast = serve(c.args(), c.input, env, false)
      const oclif = serve(c.args(), c.input, env, true)
      expect(fast.status, fast.stderr).to.equal(c.status)
      expect(fast).to.deep.equal(oclif)
    })
  }

  it('says why on one line, with its hint', () => {
    const r = serve(['--home', path.join(dir, 'none')], hello, {}, false)
    expect(r.stderr).to.equal(`error: no fvm instance at "${path.join(dir, 'none')}"\nhint: run "fvm init" or pass --home\n`)
  })

  it('leaves --help, --json and anything oclif must parse to oclif', () => {
    for (const args of [['--help'], ['--json'], ['--home'], ['--home', home, '--home', home], ['--home', '--read-only'], ['--home='], ['--bogus'], ['extra']]) {
      expect(plainServeFlags(args, {}), args.join(' ')).to.equal(undefined)
    }
    expect(plainServeFlags(['--home', home], {FVM_CONTENT_TYPE: 'json'})).to.equal(undefined)
    const help = fvm(['serve', '--help'])
    expect(help.status).to.equal(0)
    expect(help.stdout).to.match(/^Speak the fvm protocol/)
    const bogus = fvm(['serve', '--bogus'])
    expect(bogus.status).to.equal(2)
    expect(bogus.stderr).to.equal('error: nonexistent flag: --bogus\nhint: see "fvm serve --help"\n')
  })

  it('reads the flags as oclif does', () => {
    expect(plainServeFlags(['--home', 'h', '--read-only'], {})).to.deep.equal({home: 'h', readOnly: true})
    expect(plainServeFlags(['--home=h'], {FVM_HOME: 'e'})).to.deep.equal({home: 'h', readOnly: false})
    expect(plainServeFlags([], {FVM_HOME: 'e'})).to.deep.equal({home: 'e', readOnly: false})
    // oclif reads an empty $FVM_HOME as unset.
    expect(plainServeFlags([], {FVM_HOME: ''})).to.deep.equal({home: undefined, readOnly: false})
  })
})
