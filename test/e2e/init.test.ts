import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fvm, fvmBin, fvmJson, snapshotTree, tempDir} from '../support/cli.js'
import {needTools} from '../support/tools.js'

describe('fvm init (end to end)', () => {
  let dir: string
  beforeEach(() => {
    dir = tempDir()
  })
  afterEach(() => fs.rmSync(dir, {recursive: true, force: true}))

  it('--help lists the commands; init --help shows usage and examples', () => {
    const top = fvm(['--help'])
    expect(top.status).to.equal(0)
    expect(top.stdout).to.match(/USAGE[\s\S]*\$ fvm \[COMMAND\]/)
    expect(top.stdout).to.match(/\binit\b\s+Create an fvm instance home/)
    const init = fvm(['init', '--help'])
    expect(init.status).to.equal(0)
    expect(init.stdout).to.include('$ fvm init [--json] [--home DIR] [--name NAME]')
    expect(init.stdout).to.include('$ fvm init --home /tmp/fvm-b --name bravo')
  })

  it('--version prints name, version, platform and node', () => {
    const r = fvm(['--version'])
    expect(r.status).to.equal(0)
    expect(r.stdout).to.equal(`fvm/0.1.0 ${process.platform}-${process.arch} node-${process.version}\n`)
  })

  it('--json prints the new instance, and creates fvm.yaml and pool/ with private modes', () => {
    const home = path.join(dir, 'home')
    const {status, json, stderr} = fvmJson(['init', '--home', home, '--name', 'alpha'])
    expect(status).to.equal(0)
    expect(stderr).to.equal('')
    expect(json).to.include({name: 'alpha', home, poolDir: path.join(home, 'pool'), version: 1})
    expect(json.pool).to.deep.equal({size: 64 * 2 ** 30, blockSize: 65536, dataBlocks: 2 ** 20})
    expect(json.uuid).to.match(/^[0-9a-f-]{36}$/)
    expect(fs.statSync(home).mode & 0o777).to.equal(0o700)
    expect(fs.statSync(path.join(home, 'pool')).mode & 0o777).to.equal(0o700)
    expect(fs.readdirSync(path.join(home, 'pool')).sort()).to.deep.equal(['catalog', 'data', 'metadata'])
    for (const file of ['fvm.yaml', 'pool/catalog', 'pool/data', 'pool/metadata']) {
      expect(fs.statSync(path.join(home, file)).mode & 0o777, file).to.equal(0o600)
    }
    expect(fs.readFileSync(path.join(home, 'fvm.yaml'), 'utf8')).to.include(`uuid: ${json.uuid as string}`)
  })

  it('formats the pool with --size and --block-size, and the real thin_check accepts it', function () {
    needTools(this, 'thin_check')
    const home = path.join(dir, 'home')
    const {status, json} = fvmJson(['init', '--home', home, '--size', '1GiB', '--block-size', '128KiB'])
    expect(status).to.equal(0)
    expect(json.pool).to.deep.equal({size: 2 ** 30, blockSize: 131072, dataBlocks: 8192})
    expect(fs.statSync(path.join(home, 'pool/data')).size).to.equal(2 ** 30)
    expect(spawnSync('thin_check', [path.join(home, 'pool/metadata')]).status).to.equal(0)
  })

  for (const [flag, value, why] of [['--size', '12XB', /invalid pool size/], ['--size', '-1', /must not be negative/], ['--block-size', '96KiB', /block size/], ['--size', '1KiB', /smaller than one block/]] as const) {
    it(`refuses ${flag} ${value} with the usage code, creating nothing`, () => {
      const home = path.join(dir, 'home')
      const r = fvmJson(['init', '--home', home, flag, value])
      expect(r.status).to.equal(2)
      expect((r.json.error as {message: string}).message).to.match(why)
      expect(fs.existsSync(home)).to.equal(false)
    })
  }

  it('keeps modes private whatever the umask', () => {
    const home = path.join(dir, 'home')
    const r = spawnSync('sh', ['-c', `umask 000; "${process.execPath}" "${fvmBin}" init --home "${home}" --name u`])
    expect(r.status).to.equal(0)
    expect(fs.statSync(home).mode & 0o777).to.equal(0o700)
    expect(fs.statSync(path.join(home, 'fvm.yaml')).mode & 0o777).to.equal(0o600)
  })

  it('names the instance after the host by default', () => {
    const home = path.join(dir, 'home')
    const {json} = fvmJson(['init', '--home', home])
    expect(json.name).to.equal(os.hostname())
  })

  it('a second init exits with the conflict code and changes nothing', () => {
    const home = path.join(dir, 'home')
    expect(fvm(['init', '--home', home]).status).to.equal(0)
    const before = snapshotTree(home)
    const again = fvm(['init', '--home', home, '--name', 'other'])
    expect(again.status).to.equal(4)
    expect(again.stdout).to.equal('')
    expect(again.stderr).to.equal(`error: an fvm instance already exists at "${home}"\nhint: choose another --home, or remove that one first\n`)
    const json = fvmJson(['init', '--home', home])
    expect(json.status).to.equal(4)
    expect(json.json).to.deep.equal({error: {kind: 'conflict', exitCode: 4, message: `an fvm instance already exists at "${home}"`,
      hint: 'choose another --home, or remove that one first'}})
    expect(snapshotTree(home)).to.deep.equal(before)
  })

  it('FVM_HOME chooses the home', () => {
    const home = path.join(dir, 'from-env')
    const r = fvm(['init', '--name', 'envy'], {env: {FVM_HOME: home}})
    expect(r.status).to.equal(0)
    expect(r.stdout).to.equal(`Initialized fvm instance "envy" in ${home}\n`)
    expect(fs.existsSync(path.join(home, 'fvm.yaml'))).to.equal(true)
  })

  for (const bad of ['../x', 'a/b', '', '-x', '.hidden', 'semi;colon', 'x'.repeat(300)]) {
    it(`refuses the instance name ${JSON.stringify(bad.length > 20 ? `${bad.slice(0, 5)}... (${bad.length})` : bad)} with the usage code`, () => {
      const home = path.join(dir, 'home')
      const {status, json} = fvmJson(['init', '--home', home, '--name', bad])
      expect(status).to.equal(2)
      expect((json.error as {message: string}).message).to.match(/^invalid instance name ".*": /)
      expect(fs.existsSync(home)).to.equal(false)
    })
  }

  it('usage errors exit 2 with a hint, in text and in --json', () => {
    const text = fvm(['init', '--bogus'])
    expect(text.status).to.equal(2)
    expect(text.stderr).to.equal('error: nonexistent flag: --bogus\nhint: see "fvm init --help"\n')
    const json = fvmJson(['init', '--bogus'])
    expect(json.status).to.equal(2)
    expect(json.json).to.deep.include({error: {kind: 'usage', exitCode: 2, message: 'nonexistent flag: --bogus', hint: 'see "fvm init --help"'}})
  })

  it('an unknown command suggests, never runs the guess, and exits 2', () => {
    const r = fvm(['inti', '--home', path.join(dir, 'h')])
    expect(r.status).to.equal(2)
    expect(r.stderr).to.equal('error: "inti" is not an fvm command\nhint: did you mean "fvm init"?\n')
    expect(fs.existsSync(path.join(dir, 'h'))).to.equal(false)
  })

  it('prints no escape codes when not on a terminal, or with NO_COLOR', () => {
    const home = path.join(dir, 'home')
    fvm(['init', '--home', home])
    for (const env of [{}, {NO_COLOR: '1', FORCE_COLOR: '1'}]) {
      const r = fvm(['init', '--home', home], {env})
      // eslint-disable-next-line no-control-regex
      expect(r.stderr + r.stdout).not.to.match(/\u001B\[/)
      expect(fvm(['--help'], {env}).stdout).not.to.match(/\u001B\[/)
    }
  })
})
