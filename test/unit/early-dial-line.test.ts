// How bin/fvm.js reads a push, pull or fetch command line before oclif loads
// (src/ui/early-dial.ts): as oclif would, with the flags the manifest lists, or not at
// all. The flags come from the committed manifest, so a flag added to push without a
// rebuilt manifest shows up here.
import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {type ManifestFlag, readDialLine} from '../../src/ui/early-dial.js'
import {repoRoot} from '../support/tools.js'

const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, ManifestFlag>}>}
const pushFlags = manifest.commands.push.flags

describe('early dial: reading the command line', () => {
  const read = (args: string[], env: NodeJS.ProcessEnv = {}) => readDialLine(args, pushFlags, env)

  it('takes the first argument as the remote, and the flags that say how to reach it', () => {
    expect(read(['beta', 'mydata/trunk', '--home', '/h', '--remote-fvm', '/opt/fvm'])).to.deep.equal({
      remote: 'beta',
      options: {home: '/h', as: undefined, 'remote-fvm': '/opt/fvm'},
    })
    expect(read(['--home=/h', '-f', '--dry-run', '--json', '-n', 'ssh://host/x', '--as', 'other'])?.options).to.deep.equal({home: '/h', as: 'other', 'remote-fvm': 'fvm'})
    expect(read(['--force', '--', '--odd-remote'])?.remote).to.equal('--odd-remote')
  })

  it('falls back to the environment, then to the default, as the flags say', () => {
    expect(read(['beta'], {FVM_HOME: '/env/home', FVM_REMOTE_FVM: '/env/fvm'})?.options).to.deep.equal({home: '/env/home', as: undefined, 'remote-fvm': '/env/fvm'})
    expect(read(['beta', '--home', '/flag'], {FVM_HOME: '/env/home'})?.options.home).to.equal('/flag')
    expect(read(['beta'], {FVM_HOME: ''})?.options).to.deep.equal({home: undefined, as: undefined, 'remote-fvm': 'fvm'})
  })

  it('gives up on anything it does not know for sure', () => {
    for (const args of [
      [],
      ['--force'],
      ['beta', '--help'],
      ['-h', 'beta'],
      ['beta', '--unknown'],
      ['beta', '-fn'],
      ['beta', '--home'],
      ['beta', '--home', '--force'],
      ['beta', '--force=yes'],
      ['beta', '--no-force'],
      ['beta', '-x'],
      ['beta', '--constructor', 'x'],
      ['beta', '--__proto__', 'x'],
    ]) {
      expect(read(args), args.join(' ')).to.equal(undefined)
    }
  })

  it('knows every flag push, pull and fetch have', () => {
    for (const id of ['push', 'pull', 'fetch']) {
      const flags = manifest.commands[id].flags
      const args = Object.entries(flags).flatMap(([name, f]) => (f.type === 'boolean' ? [`--${name}`] : [`--${name}`, `value-of-${name}`]))
      const line = readDialLine(['remote', ...args], flags, {})
      expect(line, id).to.not.equal(undefined)
      expect(line!.options.home, id).to.equal('value-of-home')
      expect(line!.options['remote-fvm'], id).to.equal('value-of-remote-fvm')
    }
  })
})
