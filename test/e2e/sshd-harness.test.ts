// The test sshd (test/support/sshd.ts) that fvm's ssh transport is tested and benchmarked
// through: logins with both keys, the remote PATH, forced commands, the push anchor, and
// that no sshd outlives stop() or the process that started it.
import {expect} from 'chai'
import {spawn, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {pathToFileURL} from 'node:url'
import {fvm, tempDir} from '../support/cli.js'
import {needSshd, processRunning, sshCatThroughput, sshdAvailable, startSshd, type TestSshd} from '../support/sshd.js'
import {repoRoot} from '../support/tools.js'

const MiB = 2 ** 20

function ssh(sshd: TestSshd, ...args: string[]): string {
  const r = spawnSync(sshd.sshArgv[0], [...sshd.sshArgv.slice(1), ...args], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000})
  if (r.error) throw r.error
  expect(r.status, `ssh ${args.join(' ')}: ${r.stderr}`).to.equal(0)
  expect(r.stderr).to.equal('')
  return r.stdout
}

/** Whether `condition` comes true within 5 s. */
async function waitFor(condition: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 5_000
  while (!condition()) {
    if (Date.now() > deadline) return false
    await sleep(20)
  }
  return true
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', () => resolve(true))
  })
}

describe('test sshd (real OpenSSH on 127.0.0.1)', function () {
  this.timeout(30_000)
  let work: string
  let callerDir: string
  let sshd: TestSshd

  before(async function () {
    needSshd(this)
    work = tempDir('fvm-sshd-test-')
    callerDir = path.join(work, 'caller-bin')
    fs.mkdirSync(callerDir)
    const forced = path.join(work, 'forced')
    fs.writeFileSync(forced, '#!/bin/sh\nprintf "original=%s\\n" "$SSH_ORIGINAL_COMMAND"\nexec fvm --version\n', {mode: 0o755})
    sshd = await startSshd({forcedCommand: forced, path: [callerDir]})
  })

  after(async () => {
    await sshd?.stop()
    if (work) fs.rmSync(work, {recursive: true, force: true})
  })

  it('logs in with the plain key and runs the command', () => {
    expect(sshdAvailable()).to.equal(undefined)
    expect(ssh(sshd, 'fvm-test', 'echo hi')).to.equal('hi\n')
  })

  it('gives remote commands the caller\'s directories first, then this checkout\'s fvm and our node', () => {
    const local = fvm(['--version'])
    expect(local.status).to.equal(0)
    expect(ssh(sshd, 'fvm-test', 'fvm --version')).to.equal(local.stdout)
    expect(ssh(sshd, 'fvm-test', 'command -v fvm')).to.equal(`${path.join(sshd.dir, 'bin/fvm')}\n`)
    expect(ssh(sshd, 'fvm-test', 'node -p process.version')).to.equal(`${process.version}\n`)
    // Nothing from the login user's ~/.bashrc: the PATH is exactly the harness's.
    const expected = [callerDir, path.join(sshd.dir, 'bin'), path.dirname(process.execPath), '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']
    expect(ssh(sshd, 'fvm-test', 'echo "$PATH"')).to.equal(`${expected.join(':')}\n`)
  })

  it('runs the forced command for the forced key, with the request in SSH_ORIGINAL_COMMAND', () => {
    expect(ssh(sshd, 'fvm-forced', 'anything', 'args')).to.equal(`original=anything args\n${fvm(['--version']).stdout}`)
    // The plain key stays unforced on the same server.
    expect(ssh(sshd, 'fvm-test', 'echo', 'free')).to.equal('free\n')
  })

  it('runs the push anchor, cat FILE | ssh fvm-test \'cat > /dev/null\', with the default or a chosen cipher', async () => {
    const file = path.join(work, 'payload')
    fs.writeFileSync(file, Buffer.alloc(8 * MiB, 7))
    for (const cipher of [undefined, 'aes128-gcm@openssh.com']) {
      const run = await sshCatThroughput(sshd, file, cipher)
      expect(run.bytes).to.equal(8 * MiB)
      expect(run.seconds).to.be.above(0)
    }
    // pipefail: an unreadable file fails the run instead of timing an empty transfer.
    const failed = await sshCatThroughput(sshd, path.join(work, 'missing')).then(() => false, () => true)
    expect(failed, 'a missing file must fail the run').to.equal(true)
  })

  it('stop() ends the listener and its open sessions, closes the port, removes its directory, and can be called twice', async () => {
    const own = await startSshd()
    expect(Number(fs.readFileSync(path.join(own.dir, 'sshd.pid'), 'utf8'))).to.equal(own.pid)
    const session = spawn(own.sshArgv[0], [...own.sshArgv.slice(1), 'fvm-test', 'echo $$; exec sleep 600'], {stdio: ['ignore', 'pipe', 'pipe']})
    const sessionEnded = new Promise((resolve) => session.once('exit', resolve))
    const remotePid = await new Promise<number>((resolve) => session.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString()))))
    expect(remotePid, 'remote shell pid').to.be.above(1)
    expect(processRunning(remotePid)).to.equal(true)

    await Promise.all([own.stop(), own.stop()])
    expect(processRunning(own.pid)).to.equal(false)
    expect(processRunning(remotePid)).to.equal(false)
    expect(await refused(own.port)).to.equal(true)
    expect(fs.existsSync(own.dir)).to.equal(false)
    await sessionEnded
  })

  it('ends its sshd when the process that started it is killed without stop()', async () => {
    const script = path.join(work, 'orphaner.mts')
    const support = pathToFileURL(path.join(repoRoot, 'test/support/sshd.ts')).href
    fs.writeFileSync(script, `import {startSshd} from ${JSON.stringify(support)}\n` +
      'const sshd = await startSshd()\nconsole.log(sshd.pid, sshd.port, sshd.dir)\nsetInterval(() => {}, 1000)\n')
    const starter = spawn(process.execPath, ['--import', 'tsx', script], {cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit']})
    const [pid, port, dir] = await new Promise<string[]>((resolve, reject) => {
      starter.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim().split(' ')))
      starter.once('exit', (code) => reject(new Error(`the starter exited (${code}) before starting sshd`)))
    })
    try {
      expect(processRunning(Number(pid))).to.equal(true)
      starter.kill('SIGKILL')
      expect(await waitFor(() => !processRunning(Number(pid))), 'sshd outlived its starter').to.equal(true)
      expect(await refused(Number(port))).to.equal(true)
      expect(await waitFor(() => !fs.existsSync(dir)), `${dir} outlived its starter`).to.equal(true)
    } finally {
      if (processRunning(Number(pid))) process.kill(Number(pid), 'SIGKILL')
      fs.rmSync(dir, {recursive: true, force: true})
    }
  })
})
