// Connection reuse: which ssh commands get ControlMaster options, one socket per command
// line and destination, and only in a directory closed to others; the options checked by
// the real ssh -G. Reuse over a real sshd is in test/e2e/replicate-ssh.test.ts.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {type SshReuse, reuseOptions} from '../../src/plumbing/transport/ssh-reuse.js'
import {tempDir} from '../support/cli.js'
import {needTools} from '../support/tools.js'

const uid = process.getuid!()

describe('ssh connection reuse', () => {
  let dir: string
  let reuse: SshReuse
  const beta = ['', '', 'beta']

  beforeEach(() => {
    dir = tempDir('fvm-ssh-reuse-')
    reuse = {dir: path.join(dir, 'sockets'), uid, persistSeconds: 60}
  })
  afterEach(() => fs.rmSync(dir, {recursive: true, force: true}))

  const socketOf = (options: string[]): string => {
    const found = options.find((o) => o.startsWith('ControlPath='))
    return found === undefined ? expect.fail(`no ControlPath in ${options.join(' ')}`) : found.slice('ControlPath='.length)
  }

  it('makes ssh keep its connection open, with the socket in a directory it makes closed to others', () => {
    const options = reuseOptions(reuse, ['ssh', '-F', '/my/config'], beta)
    expect(options).to.deep.equal(['-o', 'ControlMaster=auto', '-o', `ControlPath=${socketOf(options)}`, '-o', 'ControlPersist=60'])
    expect(path.dirname(socketOf(options))).to.equal(reuse.dir)
    expect(fs.statSync(reuse.dir).mode & 0o777).to.equal(0o700)
    expect(reuseOptions(reuse, ['/usr/bin/ssh'], beta)).to.have.length(6)
  })

  it('gives each command line and destination a socket of its own, and the same one to the same', () => {
    const socket = (command: string[], destination: string[]) => socketOf(reuseOptions(reuse, command, destination))
    const plain = socket(['ssh'], beta)
    expect(socket(['ssh'], beta)).to.equal(plain)
    const others = [
      socket(['ssh'], ['', '', 'gamma']),
      socket(['ssh'], ['2222', '', 'beta']),
      socket(['ssh'], ['', 'alice', 'beta']),
      socket(['ssh', '-i', '/keys/forced'], beta),
      socket(['ssh', '-F', '/other/config'], beta),
    ]
    expect(new Set([plain, ...others]).size).to.equal(others.length + 1)
  })

  it('leaves alone what is not plain ssh, what sets its own multiplexing, and FVM_SSH_PERSIST=0', () => {
    for (const command of [
      ['node', 'tap.mjs', 'ssh'],
      ['tsh', 'ssh'],
      ['ssh', '-o', 'ControlMaster=no'],
      ['ssh', '-o', 'controlpath=/x/%C'],
      ['ssh', '-oControlPersist=no'],
      ['ssh', '-S', '/x/socket'],
      ['ssh', '-M'],
      ['ssh', '-qM'],
    ]) {
      expect(reuseOptions(reuse, command, beta), command.join(' ')).to.deep.equal([])
    }
    expect(reuseOptions({...reuse, persistSeconds: 0}, ['ssh'], beta)).to.deep.equal([])
    expect(reuseOptions(undefined, ['ssh'], beta)).to.deep.equal([])
    // -o with another option, and -v, -4, -p: reused
    expect(reuseOptions(reuse, ['ssh', '-v', '-4', '-o', 'ServerAliveInterval=5'], beta)).to.have.length(6)
  })

  it('keeps no socket in a directory others can enter or that is not its own, and none past the socket path limit', () => {
    fs.mkdirSync(reuse.dir, {mode: 0o700})
    fs.chmodSync(reuse.dir, 0o755)
    expect(reuseOptions(reuse, ['ssh'], beta), 'open to others').to.deep.equal([])
    fs.chmodSync(reuse.dir, 0o700)
    expect(reuseOptions({...reuse, uid: uid + 1}, ['ssh'], beta), 'not its own').to.deep.equal([])
    const link = path.join(dir, 'link')
    fs.symlinkSync(reuse.dir, link)
    expect(reuseOptions({...reuse, dir: link}, ['ssh'], beta), 'a symlink').to.deep.equal([])
    expect(reuseOptions({...reuse, dir: path.join(dir, 'no-parent', 'sockets')}, ['ssh'], beta), 'cannot be made').to.deep.equal([])
    expect(reuseOptions({...reuse, dir: path.join(dir, 'x'.repeat(80))}, ['ssh'], beta), 'too long').to.deep.equal([])
    expect(reuseOptions(reuse, ['ssh'], beta)).to.have.length(6)
  })

  it('gives options the real ssh takes as such', function () {
    needTools(this, 'ssh')
    const options = reuseOptions(reuse, ['ssh'], beta)
    const r = spawnSync('ssh', ['-G', '-F', '/dev/null', ...options, '--', 'beta'], {encoding: 'utf8'})
    expect(r.status, r.stderr).to.equal(0)
    expect(r.stdout).to.match(/^controlmaster auto$/m)
    expect(r.stdout).to.include(`controlpath ${socketOf(options)}\n`)
    expect(r.stdout).to.match(/^controlpersist 60$/m)
  })
})
