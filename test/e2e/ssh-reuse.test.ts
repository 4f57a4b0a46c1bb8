// ssh connection reuse over a real sshd (test/support/sshd.ts): the next push within
// FVM_SSH_PERSIST seconds runs over the connection the first one left open (sshd
// accepts one login), a forced-command key gets a connection of its own, a stopped sshd
// takes the kept connection with it, and FVM_SSH_PERSIST=0 keeps none.
import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {fvm, tempDir} from '../support/cli.js'
import {type TestSshd, needSshd, startSshd} from '../support/sshd.js'
import {THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {assertHealthy, ok} from './porcelain-support.js'
import {contentHash, fill} from './replicate-support.js'

const MiB = 1024 * 1024

describe('ssh connection reuse', function () {
  this.timeout(120_000)
  let sshd: TestSshd
  let dir: string
  let alpha: string
  let beta: string
  let gamma: string
  /** Where this test's control sockets go (XDG_RUNTIME_DIR/fvm-ssh). */
  let runtime: string

  before(async function () {
    needSshd(this)
    needTools(this, ...THIN_TOOLS)
    dir = tempDir('fvm-ssh-reuse-')
    ;[alpha, beta, gamma] = ['alpha', 'beta', 'gamma'].map((name) => {
      const home = path.join(dir, name)
      expect(fvm(['init', '--home', home, '--size', '256MiB', '--name', name]).status).to.equal(0)
      return home
    })
    runtime = path.join(dir, 'run')
    fs.mkdirSync(runtime, {mode: 0o700})
    sshd = await startSshd({forcedCommand: `fvm serve --home ${gamma}`})
    ok(alpha, 'volume', 'create', 'mydata', '--size', '16MiB')
    fill(alpha, 'mydata/trunk', 0, 4 * MiB)
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

  it('refuses an FVM_SSH_PERSIST that is not a number of seconds', () => {
    for (const value of ['soon', '-1', '1e3', '86401']) {
      const r = push(`fvm-test:${beta}`, sshd, {FVM_SSH_PERSIST: value})
      expect(r.status, value).to.equal(2)
      expect(JSON.parse(r.stdout).error.message).to.equal(`invalid FVM_SSH_PERSIST "${value}": not a number of seconds from 0 to 86400`)
    }
  })
})
