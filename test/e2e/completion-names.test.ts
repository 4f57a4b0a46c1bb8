// Tab completion of names from the pool: on a real instance, the bash function that
// `fvm autocomplete bash` registers is called the way bash calls it, and the zsh one
// runs in `zsh -f` with compadd (the completion system's output) stubbed to print.
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {fvm, fvmBin, tempDir} from '../support/cli.js'
import {needTools} from '../support/tools.js'

describe('tab completion of names from the pool', function () {
  this.timeout(60_000)
  let dir: string
  let home: string
  let cache: string
  let env: NodeJS.ProcessEnv

  before(function () {
    needTools(this, 'bash')
    dir = tempDir('fvm-completion-')
    home = path.join(dir, 'home')
    cache = path.join(dir, 'cache')
    // The shell functions run "fvm" from PATH, as they do for a user.
    const bin = path.join(dir, 'bin')
    fs.mkdirSync(bin)
    fs.symlinkSync(fvmBin, path.join(bin, 'fvm'))
    env = {...process.env, PATH: [bin, path.dirname(process.execPath), process.env.PATH].join(':'), XDG_CACHE_HOME: cache, FVM_HOME: home}
    for (const args of [
      ['init', '--home', home, '--size', '256MiB'],
      ['volume', 'create', 'mydata', '--size', '64MiB', '--home', home],
      ['branch', 'mydata/feature', '--home', home],
      ['tag', 'v1@mydata', '--home', home],
      ['remote', 'add', 'beta', '/srv/beta', '--home', home],
      ['autocomplete', 'bash'],
      ['autocomplete', 'zsh'],
    ]) {
      const r = fvm(args, {env: {XDG_CACHE_HOME: cache}})
      expect(r.status, r.stderr).to.equal(0)
    }
  })
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  const quote = (w: string): string => `'${w.replaceAll('\'', '\'\\\'\'')}'`
  /** The words of a line; a trailing space starts an empty word. */
  const wordsOf = (line: string): string[] => line.split(' ')

  /** What bash offers at the end of `line`: COMPREPLY of the function `complete -p fvm` names. */
  function bash(line: string, extraEnv: NodeJS.ProcessEnv = {}): string[] {
    // bash also breaks words at "=" (COMP_WORDBREAKS): --home=DIR is three words.
    const words = wordsOf(line).flatMap((w) => (w.includes('=') ? w.split(/(=)/).filter(Boolean) : [w]))
    const script = [
      `source ${quote(path.join(cache, 'fvm/autocomplete/bash_setup'))}`,
      'fn=$(complete -p fvm | sed -E "s/.*-F ([^ ]+).*/\\1/")',
      `COMP_WORDS=(${words.map(quote).join(' ')}); COMP_CWORD=${words.length - 1}`,
      `COMP_LINE=${quote(line)}; COMP_POINT=\${#COMP_LINE}`,
      `"$fn" fvm ${quote(words.at(-1)!)} ${quote(words.at(-2)!)}`,
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n')
    return execFileSync('bash', ['-c', script], {encoding: 'utf8', env: {...env, ...extraEnv}}).split('\n').filter(Boolean)
  }

  it('completes "fvm branch my" to the volume, as VOLUME/', () => {
    expect(bash('fvm branch my')).to.deep.equal(['mydata/'])
  })

  it('lists the branches for "fvm branch rm mydata/"', () => {
    expect(bash('fvm branch rm mydata/')).to.deep.equal(['mydata/feature', 'mydata/trunk'])
    expect(bash('fvm branch rename mydata/f')).to.deep.equal(['mydata/feature'])
  })

  it('offers the tags for "fvm tag rm", and a volume after "TAG@"', () => {
    expect(bash('fvm tag rm ')).to.deep.equal(['v1@mydata'])
    expect(bash('fvm tag v2@m')).to.deep.equal(['v2@mydata'])
  })

  it('completes volumes, rollback\'s branch then its tag, and log\'s references', () => {
    expect(bash('fvm volume info ')).to.deep.equal(['mydata'])
    expect(bash('fvm volume rm m')).to.deep.equal(['mydata'])
    expect(bash('fvm rollback mydata/t')).to.deep.equal(['mydata/trunk'])
    expect(bash('fvm rollback --yes mydata/trunk ')).to.deep.equal(['v1'])
    expect(bash('fvm log ')).to.deep.equal(['mydata', 'mydata/feature', 'mydata/trunk', 'v1@mydata'])
  })

  it('offers remotes to push, fetch and pull, then what push sends, and refs to diff', () => {
    expect(bash('fvm push ')).to.deep.equal(['beta'])
    expect(bash('fvm push beta mydata/')).to.deep.equal(['mydata/feature', 'mydata/trunk'])
    expect(bash('fvm fetch b')).to.deep.equal(['beta'])
    expect(bash('fvm remote show ')).to.deep.equal(['beta'])
    expect(bash('fvm diff v')).to.deep.equal(['v1@mydata'])
  })

  it('reads the instance --home names on the line, else $FVM_HOME', () => {
    expect(bash(`fvm branch rm --home ${home} mydata/t`, {FVM_HOME: ''})).to.deep.equal(['mydata/trunk'])
    expect(bash(`fvm branch rm --home=${home} mydata/t`, {FVM_HOME: ''})).to.deep.equal(['mydata/trunk'])
    expect(bash('fvm branch rm mydata/t', {FVM_HOME: path.join(dir, 'nowhere')})).to.deep.equal([])
  })

  it('still completes commands, subcommands and flags', () => {
    expect(bash('fvm in')).to.deep.equal(['init'])
    expect(bash('fvm branch r')).to.deep.equal(['rename', 'rm'])
    expect(bash('fvm branch ')).to.deep.equal(['mydata/', 'rename', 'rm'])
    expect(bash('fvm volume i')).to.deep.equal(['import', 'info', 'inspect'])
    expect(bash('fvm branch rm --y')).to.deep.equal(['--yes'])
    expect(bash('fvm tag rm --')).to.include.members(['--home', '--yes', '--json'])
  })

  it('fvm __complete prints nothing and succeeds where there is nothing to offer', () => {
    for (const args of [['--', 'branch', 'rm', ''], ['--', 'nonsense', ''], ['--', 'branch', '--home', '']]) {
      const r = fvm(['__complete', ...args], {env: {FVM_HOME: path.join(dir, 'nowhere')}})
      expect([r.status, r.stdout, r.stderr]).to.deep.equal([0, '', ''])
    }
  })

  it('fvm __complete is not in the help', () => {
    expect(fvm(['--help']).stdout).not.to.include('__complete')
  })

  describe('zsh', () => {
    before(function () {
      needTools(this, 'zsh')
    })

    /** compadd's candidates, marked when no space is to follow; or the plugin's own completion. */
    function zsh(line: string): string[] {
      const words = wordsOf(line)
      const script = [
        `fpath=(${quote(path.join(cache, 'fvm/autocomplete/functions/zsh'))} $fpath)`,
        'autoload -Uz _fvm',
        'compadd() {',
        '  local mark=; [[ $1 == -S && -z $2 ]] && mark=" (no space)"',
        '  local c; for c in "${(@)argv[${argv[(i)--]}+1,-1]}"; do print -r -- "$c$mark"; done',
        '}',
        '_arguments() { print -r -- "(commands and flags)" }',
        `words=(${words.map(quote).join(' ')}); CURRENT=${words.length}`,
        '_fvm',
      ].join('\n')
      return execFileSync('zsh', ['-f', '-c', script], {encoding: 'utf8', env}).split('\n').filter(Boolean)
    }

    it('offers the same names', () => {
      expect(zsh('fvm branch my')).to.deep.equal(['mydata/ (no space)'])
      expect(zsh('fvm branch rm mydata/')).to.deep.equal(['mydata/feature', 'mydata/trunk'])
      expect(zsh('fvm tag rm ')).to.deep.equal(['v1@mydata'])
    })

    it('leaves commands and flags to the plugin\'s function', () => {
      expect(zsh('fvm in')).to.deep.equal(['(commands and flags)'])
      expect(zsh('fvm branch rm --y')).to.deep.equal(['(commands and flags)'])
    })
  })
})
