// push and pull over a real sshd on 127.0.0.1 (test/support/sshd.ts), with ssh found
// through FVM_SSH; through a forced-command key, which runs only `fvm serve`; and over the
// connection a previous command left open (sshd accepts one login), which a forced-command
// key does not share, a stopped sshd takes with it, and FVM_SSH_PERSIST=0 does not keep.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {fvm, tempDir} from '../support/cli.js'
import {type TestSshd, needSshd, startSshd} from '../support/sshd.js'
import {THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {assertHealthy, json, ok} from './porcelain-support.js'
import {contentHash, fill} from './replicate-support.js'

const MiB = 1024 * 1024

describe('push and pull over ssh', function () {
  this.timeout(180_000)
  let sshd: TestSshd
  let dir: string
  let alpha: string
  let beta: string
  /** The instance the forced-command key serves. */
  let gamma: string
  let env: NodeJS.ProcessEnv

  before(async function () {
    needSshd(this)
    needTools(this, ...THIN_TOOLS)
    dir = tempDir('fvm-ssh-')
    ;[alpha, beta, gamma] = ['alpha', 'beta', 'gamma'].map((name) => {
      const home = path.join(dir, name)
      expect(fvm(['init', '--home', home, '--size', '512MiB', '--name', name]).status).to.equal(0)
      return home
    })
    sshd = await startSshd({forcedCommand: `fvm serve --home ${gamma}`})
    env = {FVM_SSH: sshd.sshCommand}
    ok(alpha, 'volume', 'create', 'mydata', '--size', '32MiB')
    fill(alpha, 'mydata/trunk', 0, 8 * MiB)
  })

  after(async () => {
    await sshd?.stop()
    if (dir) {
      try {
        for (const home of [alpha, beta, gamma]) assertHealthy(home)
      } finally {
        fs.rmSync(dir, {recursive: true, force: true})
      }
    }
  })

  const withSsh = (home: string, args: string[], status = 0) => {
    const r = fvm([...args, '--home', home, '--json'], {env})
    expect(r.status, `${args.join(' ')}: ${r.stdout}${r.stderr}`).to.equal(status)
    return JSON.parse(r.stdout)
  }

  it('pushes to HOST:HOME and the copy reads the same', () => {
    const result = withSsh(alpha, ['push', `fvm-test:${beta}`, 'mydata/trunk'])
    expect(result.branches[0]).to.include({action: 'new', dataBytes: 8 * MiB})
    expect(contentHash(beta, 'alpha/mydata/trunk')).to.equal(contentHash(alpha, 'mydata/trunk'))
  })

  it('pulls from ssh://HOST/HOME as a remote, fast-forwarding after a change', () => {
    ok(gamma, 'remote', 'add', 'origin', `ssh://fvm-test${alpha}`)
    const first = withSsh(gamma, ['pull', 'origin', 'mydata'])
    expect(first.branches[0].local).to.deep.equal({branch: 'mydata/trunk', action: 'created'})
    fill(alpha, 'mydata/trunk', 0, 65536)
    const second = withSsh(gamma, ['pull', 'origin', 'mydata'])
    expect(second.branches[0]).to.include({action: 'fast-forward'})
    expect(second.bytesReceived).to.be.at.most(65536 + MiB)
    expect(contentHash(gamma, 'mydata/trunk')).to.equal(contentHash(alpha, 'mydata/trunk'))
  })

  it('pushes through the forced-command key to the instance it serves', () => {
    const result = withSsh(alpha, ['push', 'fvm-forced', 'mydata/trunk', '--force'])
    expect(['fast-forward', 'forced', 'up-to-date']).to.include(result.branches[0].action)
    expect(result.instance).to.equal('gamma')
    expect(contentHash(gamma, 'alpha/mydata/trunk')).to.equal(contentHash(alpha, 'mydata/trunk'))
  })

  it('refuses through the forced-command key anything but fvm serve, and another home', () => {
    const marker = path.join(dir, 'marker')
    fs.writeFileSync(marker, 'x')
    const shell = spawnSync(sshd.sshArgv[0], [...sshd.sshArgv.slice(1), 'fvm-forced', `rm -f ${marker}`], {encoding: 'utf8'})
    expect(shell.status).to.not.equal(0)
    expect(shell.stderr).to.match(/refused .*only "fvm serve" is allowed/)
    expect(fs.existsSync(marker)).to.equal(true)
    const elsewhere = withSsh(alpha, ['push', `fvm-forced:${beta}`, 'mydata/trunk'], 7)
    expect(elsewhere.error.message).to.match(/serves the instance at/)
  })

  it('a read-only forced key serves pulls and refuses pushes', async () => {
    const readOnly = await startSshd({forcedCommand: `fvm serve --home ${alpha} --read-only`})
    try {
      const viaKey = {FVM_SSH: readOnly.sshCommand}
      const before = fvm(['branch', '--remotes', '--json', '--home', alpha]).stdout
      const pushed = fvm(['push', 'fvm-forced', 'mydata/trunk', '--home', gamma, '--json'], {env: viaKey})
      expect(pushed.status, pushed.stdout).to.equal(2)
      expect(JSON.parse(pushed.stdout).error.message).to.match(/served read-only: it takes no pushes/)
      expect(fvm(['branch', '--remotes', '--json', '--home', alpha]).stdout).to.equal(before)
      const fetched = fvm(['fetch', 'fvm-forced', 'mydata', '--home', beta, '--json'], {env: viaKey})
      expect(fetched.status, fetched.stdout + fetched.stderr).to.equal(0)
      expect(contentHash(beta, 'alpha/mydata/trunk')).to.equal(contentHash(alpha, 'mydata/trunk'))
    } finally {
      await readOnly.stop()
    }
  })

  it('reports an unreachable host as a remote failure', () => {
    const r = json(alpha, ['push', 'ssh://127.0.0.1:1/x', 'mydata/trunk'], 7)
    expect(r.error.message).to.match(/connection|closed|reach/)
  })

  it('reports an ssh program that cannot be started as a remote failure, naming it', () => {
    const r = fvm(['push', `fvm-test:${beta}`, 'mydata/trunk', '--home', alpha], {env: {FVM_SSH: path.join(dir, 'no-such-ssh')}})
    expect(r.status, r.stderr).to.equal(7)
    expect(r.stderr.trim().split('\n')[0]).to.match(/^error: cannot reach "fvm-test:.*": spawn .*no-such-ssh ENOENT$/)
  })

  // fvm keeps ssh's connection open for the next command (src/plumbing/transport/ssh-reuse.ts).
  describe('keeping the connection open', () => {
    /** Where these tests' control sockets go (XDG_RUNTIME_DIR/fvm-ssh). */
    let runtime: string
    before(() => {
      runtime = path.join(dir, 'run')
      fs.mkdirSync(runtime, {mode: 0o700})
    })

    /** Logins sshd has accepted so far. */
    const logins = (server: TestSshd = sshd): number => (fs.readFileSync(path.join(server.dir, 'sshd.log'), 'utf8').match(/^.*Accepted publickey/gm) ?? []).length
    const sockets = (): string[] => (fs.existsSync(path.join(runtime, 'fvm-ssh')) ? fs.readdirSync(path.join(runtime, 'fvm-ssh')) : [])
    const push = (to: string, server: TestSshd = sshd, env: NodeJS.ProcessEnv = {}) =>
      fvm(['push', to, 'mydata/trunk', '--home', alpha, '--json'], {env: {FVM_SSH: server.sshCommand, XDG_RUNTIME_DIR: runtime, ...env}})

    it('runs the next push over the connection the first one left open', () => {
      const before = logins()
      const first = push(`fvm-test:${beta}`)
      expect(first.status, first.stderr).to.equal(0)
      expect(logins()).to.equal(before + 1)
      expect(sockets()).to.have.length(1)
      fill(alpha, 'mydata/trunk', MiB, 65536)
      const second = push(`fvm-test:${beta}`)
      expect(second.status, second.stderr).to.equal(0)
      expect(JSON.parse(second.stdout).branches[0]).to.include({action: 'fast-forward'})
      expect(logins(), 'a second login').to.equal(before + 1)
      expect(contentHash(beta, 'alpha/mydata/trunk')).to.equal(contentHash(alpha, 'mydata/trunk'))
    })

    it('gives a forced-command key a connection of its own', () => {
      const before = logins()
      const viaKey = push('fvm-forced')
      expect(viaKey.status, viaKey.stderr).to.equal(0)
      expect(JSON.parse(viaKey.stdout).instance).to.equal('gamma')
      expect(logins()).to.equal(before + 1)
      expect(sockets()).to.have.length(2)
      // Still served by the forced command: another home is refused.
      const elsewhere = push(`fvm-forced:${beta}`)
      expect(elsewhere.status).to.equal(7)
      expect(JSON.parse(elsewhere.stdout).error.message).to.match(/serves the instance at/)
    })

    it('keeps no connection with FVM_SSH_PERSIST=0', () => {
      const kept = sockets()
      const before = logins()
      for (let i = 0; i < 2; i++) {
        fill(alpha, 'mydata/trunk', 0, 65536)
        const r = push(`fvm-test:${beta}`, sshd, {FVM_SSH_PERSIST: '0'})
        expect(r.status, r.stderr).to.equal(0)
      }
      expect(logins()).to.equal(before + 2)
      expect(sockets()).to.deep.equal(kept)
    })

    it('loses the kept connection with its sshd: the next push fails as it would without one', async () => {
      const other = await startSshd()
      try {
        const first = push(`fvm-test:${beta}`, other)
        expect(first.status, first.stderr).to.equal(0)
        expect(logins(other)).to.equal(1)
      } finally {
        await other.stop()
      }
      fill(alpha, 'mydata/trunk', 0, 65536)
      const after = push(`fvm-test:${beta}`, other)
      expect(after.status, after.stdout).to.equal(7)
      expect(JSON.parse(after.stdout).error.message).to.match(/connection|closed|reach/)
    })

    it('does not pass on what ssh says when another command is opening the connection at the same time', () => {
      // An ssh that says it first, as the second of two at once does, then goes on as ssh.
      const bin = path.join(dir, 'racing-bin')
      fs.mkdirSync(bin)
      const ssh = path.join(bin, 'ssh')
      fs.writeFileSync(ssh, '#!/bin/sh\necho "ControlSocket /x/y already exists, disabling multiplexing" >&2\nexec ssh "$@"\n', {mode: 0o755})
      fill(alpha, 'mydata/trunk', 0, 65536)
      const r = push(`fvm-test:${beta}`, {...sshd, sshCommand: [ssh, ...sshd.sshArgv.slice(1)].join(' ')})
      expect(r.status, r.stderr).to.equal(0)
      expect(r.stderr).to.not.include('ControlSocket')
      const plain = push(`fvm-test:${beta}`, {...sshd, sshCommand: [ssh, ...sshd.sshArgv.slice(1)].join(' ')}, {FVM_SSH_PERSIST: '0'})
      expect(plain.stderr, 'without reuse it is not ours to hide').to.include('remote: ControlSocket /x/y already exists')
    })

    it('refuses an FVM_SSH_PERSIST that is not a number of seconds', () => {
      for (const value of ['soon', '-1', '1e3', '86401']) {
        const r = push(`fvm-test:${beta}`, sshd, {FVM_SSH_PERSIST: value})
        expect(r.status, value).to.equal(2)
        expect(JSON.parse(r.stdout).error.message).to.equal(`invalid FVM_SSH_PERSIST "${value}": not a number of seconds from 0 to 86400`)
      }
    })
  })
})
