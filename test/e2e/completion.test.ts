// Tab completion: drive the generated bash completion function the way bash does.
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {fvm, tempDir} from '../support/cli.js'
import {needTools} from '../support/tools.js'

describe('tab completion', () => {
  let cache: string
  before(function () {
    needTools(this, 'bash')
    cache = tempDir('fvm-cache-')
    const r = fvm(['autocomplete', 'bash'], {env: {XDG_CACHE_HOME: cache}})
    expect(r.status, r.stderr).to.equal(0)
  })
  after(() => fs.rmSync(cache, {recursive: true, force: true}))

  function complete(words: string[]): string[] {
    const fn = path.join(cache, 'fvm/autocomplete/functions/bash/fvm.bash')
    const script = `source "${fn}"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); ` +
      `COMP_CWORD=${words.length - 1}; _fvm_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`
    return execFileSync('bash', ['-c', script], {encoding: 'utf8'}).split('\n').filter(Boolean)
  }

  it('completes command names', () => {
    expect(complete(['fvm', 'in'])).to.deep.equal(['init'])
  })

  it('completes flag names', () => {
    expect(complete(['fvm', 'init', '--h'])).to.deep.equal(['--home'])
    expect(complete(['fvm', 'init', '--'])).to.include.members(['--home', '--name', '--json'])
  })

  it('zsh completion is generated too', () => {
    const r = fvm(['autocomplete', 'zsh'], {env: {XDG_CACHE_HOME: cache}})
    expect(r.status, r.stderr).to.equal(0)
    expect(fs.readFileSync(path.join(cache, 'fvm/autocomplete/functions/zsh/_fvm'), 'utf8')).to.include('init')
  })
})
