// push, pull and fetch start ssh before oclif loads (src/ui/early-dial.ts): the command
// takes that connection when it plans the same dial, and a connection nobody takes is
// stopped. Over a real sshd, with FVM_SSH a wrapper that logs the pid of each ssh.
import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {configuredRemotes} from '../../src/plumbing/config.js'
import {PROTOCOL_VERSION, Session} from '../../src/plumbing/replicate/session.js'
import {type Connection, planDial} from '../../src/plumbing/transport/connect.js'
import {connectSettings} from '../../src/ui/connect-settings.js'
import {dialEarly, dropEarlyConnection, takeEarlyConnection} from '../../src/ui/early-dial.js'
import {fvm, tempDir} from '../support/cli.js'
import {type TestSshd, needSshd, processRunning, startSshd, waitFor} from '../support/sshd.js'
import {ok} from './porcelain-support.js'

const MiB = 1024 * 1024

describe('early dial', function () {
  this.timeout(120_000)
  let sshd: TestSshd
  let dir: string
  let alpha: string
  let beta: string
  let log: string
  let env: NodeJS.ProcessEnv

  before(async function () {
    needSshd(this)
    dir = tempDir('fvm-early-dial-')
    ;[alpha, beta] = ['alpha', 'beta'].map((name) => {
      const home = path.join(dir, name)
      expect(fvm(['init', '--home', home, '--size', '256MiB', '--name', name]).status).to.equal(0)
      return home
    })
    ok(alpha, 'volume', 'create', 'mydata', '--size', '8MiB')
    sshd = await startSshd()
    log = path.join(dir, 'ssh-pids')
    const wrapper = path.join(dir, 'ssh')
    fs.writeFileSync(wrapper, `#!/bin/sh\necho $$ >> '${log}'\nexec ${sshd.sshCommand} "$@"\n`, {mode: 0o755})
    env = {FVM_SSH: wrapper}
  })
  beforeEach(() => fs.rmSync(log, {force: true}))
  after(async () => {
    await sshd?.stop()
    if (dir) fs.rmSync(dir, {recursive: true, force: true})
  })

  const sshStarts = (): number[] => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').map(Number) : [])

  describe('in this process', () => {
    let saved: string | undefined
    beforeEach(() => {
      saved = process.env.FVM_SSH
      process.env.FVM_SSH = env.FVM_SSH
    })
    afterEach(() => {
      dropEarlyConnection()
      if (saved === undefined) delete process.env.FVM_SSH
      else process.env.FVM_SSH = saved
    })
    const line = (): string[] => ['push', `fvm-test:${beta}`, 'mydata/trunk', '--home', alpha]

    it('hands the command the connection it started for the same dial', async () => {
      await dialEarly(line())
      expect(await waitFor(() => sshStarts().length === 1, 5000)).to.equal(true)
      const connection: Connection | undefined = takeEarlyConnection(planDial({home: alpha, remote: `fvm-test:${beta}`, ...connectSettings('fvm')}, configuredRemotes(alpha)))
      expect(connection).to.not.equal(undefined)
      const session = new Session(connection!.input, connection!.output)
      await session.send({op: 'hello', protocol: PROTOCOL_VERSION, instance: {name: 'alpha', uuid: '00000000-0000-4000-8000-00000000000a'}})
      const hello = await session.receive(['hello'], 'greeting')
      expect(hello.instance).to.include({name: 'beta'})
      await session.send({op: 'bye'})
      await session.end()
      expect(await connection!.close()).to.equal(0)
      expect(sshStarts()).to.have.length(1)
    })

    it('stops a connection started for another dial, and gives nothing', async () => {
      await dialEarly(line())
      expect(await waitFor(() => sshStarts().length === 1, 5000)).to.equal(true)
      const other = planDial({home: alpha, remote: `fvm-test:${beta}`, ...connectSettings('/elsewhere/fvm')}, configuredRemotes(alpha))
      expect(takeEarlyConnection(other)).to.equal(undefined)
      expect(await waitFor(() => !processRunning(sshStarts()[0]), 5000)).to.equal(true)
    })

    it('dials a configured remote by its name, and an address only from an instance', async () => {
      ok(alpha, 'remote', 'add', 'there', `fvm-test:${beta}`)
      try {
        await dialEarly(['push', 'there', 'mydata/trunk', '--home', alpha])
        expect(await waitFor(() => sshStarts().length === 1, 5000)).to.equal(true)
        expect(takeEarlyConnection(planDial({home: alpha, remote: 'there', ...connectSettings('fvm')}, configuredRemotes(alpha)))).to.not.equal(undefined)
      } finally {
        dropEarlyConnection()
        ok(alpha, 'remote', 'rm', 'there')
      }
      fs.rmSync(log, {force: true})
      await dialEarly(['push', `fvm-test:${beta}`, 'mydata/trunk', '--home', path.join(dir, 'nothing-here')])
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(sshStarts()).to.deep.equal([])
    })

    it('starts nothing for a line it cannot read for sure', async () => {
      await dialEarly([...line(), '--no-such-flag'])
      await dialEarly(['push', '--help'])
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(sshStarts()).to.deep.equal([])
    })
  })

  describe('fvm push', () => {
    it('starts ssh once, and pushes over it', () => {
      const r = fvm(['push', `fvm-test:${beta}`, 'mydata/trunk', '--home', alpha], {env})
      expect(r.status, r.stderr).to.equal(0)
      expect(r.stdout).to.match(/^mydata\/trunk -> beta:alpha\/mydata\/trunk {2}new/)
      expect(sshStarts()).to.have.length(1)
    })

    it('stops the connection when the command fails before using it', async () => {
      const r = fvm(['push', `fvm-test:${beta}`, 'mydata/trunk', '--home', alpha, '--as', 'bad/name'], {env})
      expect(r.status).to.equal(2)
      expect(r.stderr).to.equal('error: invalid volume name "bad/name": must not contain "/"\n')
      const [pid] = sshStarts()
      expect(pid).to.be.a('number')
      expect(await waitFor(() => !processRunning(pid), 5000)).to.equal(true)
    })

    it('starts no ssh for --help', () => {
      const r = fvm(['push', `fvm-test:${beta}`, '--help'], {env})
      expect(r.status).to.equal(0)
      expect(sshStarts()).to.deep.equal([])
    })
  })

  it('fetch starts ssh once too', () => {
    ok(alpha, 'volume', 'create', 'other', '--size', `${MiB}`)
    expect(fvm(['push', `fvm-test:${beta}`, 'other/trunk', '--home', alpha], {env}).status).to.equal(0)
    fs.rmSync(log, {force: true})
    const r = fvm(['fetch', `fvm-test:${alpha}`, 'other', '--home', beta], {env})
    expect(r.status, r.stderr).to.equal(0)
    expect(sshStarts()).to.have.length(1)
  })
})
