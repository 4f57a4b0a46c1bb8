// Interrupted pushes resume: at random points the sender is killed, the receiver is
// killed, or the connection is cut; the rerun must finish with the right content and the
// two attempts together must put less than 1.1x one full send on the wire (counted by a
// tap between fvm and ssh, over a real sshd).
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {fvm, fvmBin, tempDir} from '../support/cli.js'
import {type TestSshd, needSshd, startSshd} from '../support/sshd.js'
import {THIN_TOOLS} from '../support/thin-tools.js'
import {needTools, repoRoot} from '../support/tools.js'
import {assertHealthy, ok} from './porcelain-support.js'
import {contentHash, fill} from './replicate-support.js'

const MiB = 1024 * 1024
const DATA = 128 * MiB
const TRIALS_PER_KIND = 7
const tap = path.join(repoRoot, 'test/support/wire-tap.mjs')

/** A deterministic sequence of numbers in [0, 1). */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0
    return state / 2 ** 32
  }
}

describe('resuming interrupted pushes', function () {
  this.timeout(600_000)
  let sshd: TestSshd
  let dir: string
  let alpha: string
  let fullWire: number
  let expected: string
  const next = random(20261121)

  before(async function () {
    needSshd(this)
    needTools(this, ...THIN_TOOLS)
    dir = tempDir('fvm-resume-')
    alpha = path.join(dir, 'alpha')
    expect(fvm(['init', '--home', alpha, '--size', '1GiB', '--name', 'alpha']).status).to.equal(0)
    ok(alpha, 'volume', 'create', 'mydata', '--size', '160MiB')
    fill(alpha, 'mydata/trunk', 0, DATA)
    expected = contentHash(alpha, 'mydata/trunk')
    sshd = await startSshd()
    const full = push('full', {})
    expect(full.status, full.stderr).to.equal(0)
    fullWire = full.wire
  })

  after(async () => {
    await sshd?.stop()
    if (dir) fs.rmSync(dir, {recursive: true, force: true})
  })

  let runs = 0
  /** Pushes mydata/trunk to a fresh or given receiver through the tap; the bytes that went into ssh. */
  function push(receiver: string, o: {cut?: number; env?: NodeJS.ProcessEnv; remoteFvm?: string}) {
    const home = path.join(dir, receiver)
    if (!fs.existsSync(home)) expect(fvm(['init', '--home', home, '--size', '1GiB', '--name', receiver]).status).to.equal(0)
    const count = path.join(dir, `wire-${runs++}`)
    const sshCommand = [process.execPath, tap, count, String(o.cut ?? 0), ...sshd.sshArgv].join(' ')
    const args = [fvmBin, 'push', `fvm-test:${home}`, 'mydata/trunk', '--home', alpha, '--json']
    if (o.remoteFvm) args.push('--remote-fvm', o.remoteFvm)
    const r = spawnSync(process.execPath, args, {encoding: 'utf8', timeout: 120_000, env: {...process.env, FVM_SSH: sshCommand, ...o.env}})
    const wire = fs.existsSync(count) ? Number(fs.readFileSync(count, 'utf8')) : 0
    return {status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, wire, home}
  }

  /** A remote fvm that kills itself after applying `n` extents. */
  function killedReceiver(n: number): string {
    const script = path.join(dir, `fvm-killed-${n}`)
    fs.writeFileSync(script, `#!/bin/sh\nFVM_FAILPOINT=receive.extent:${n} exec fvm "$@"\n`, {mode: 0o755})
    return script
  }

  function resumes(receiver: string, first: ReturnType<typeof push>): void {
    expect(first.status, `the interrupted push succeeded: ${first.stdout}`).to.not.equal(0)
    const second = push(receiver, {})
    expect(second.status, second.stdout + second.stderr).to.equal(0)
    const result = JSON.parse(second.stdout)
    expect(result.branches[0].action).to.equal('new')
    expect(contentHash(second.home, 'alpha/mydata/trunk')).to.equal(expected)
    const total = first.wire + second.wire
    expect(total, `${first.wire} + ${second.wire} bytes vs one full send of ${fullWire}`).to.be.below(1.1 * fullWire)
    assertHealthy(second.home)
    // Nothing staged is left behind: gc has nothing to drop.
    expect(ok(second.home, 'gc', '--dry-run').abandoned).to.deep.equal([])
    fs.rmSync(second.home, {recursive: true, force: true})
  }

  const extents = DATA / (4 * MiB)
  for (let i = 0; i < TRIALS_PER_KIND; i++) {
    it(`sender killed (trial ${i + 1})`, () => {
      const n = 1 + Math.floor(next() * extents)
      resumes(`sender-${i}`, push(`sender-${i}`, {env: {FVM_FAILPOINT: `send.extent:${n}`}}))
    })
    it(`receiver killed (trial ${i + 1})`, () => {
      const n = 1 + Math.floor(next() * (extents - 1))
      resumes(`receiver-${i}`, push(`receiver-${i}`, {remoteFvm: killedReceiver(n)}))
    })
    it(`connection cut (trial ${i + 1})`, () => {
      const cut = Math.floor(next() * DATA)
      resumes(`cut-${i}`, push(`cut-${i}`, {cut}))
    })
  }
})
