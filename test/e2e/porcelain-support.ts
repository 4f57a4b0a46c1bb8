// What the porcelain end-to-end tests share: a fresh small instance per test, checked
// after every test by `fvm check` and both generations of the real thin_check; runs of
// the built bin/fvm with --json; refusals that must leave the home byte for byte as it
// was; and writing data blocks straight into the pool, to give volumes content.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {ThinPool} from '../../src/dm/thin/thin-pool.js'
import {lockPool} from '../../src/plumbing/pool-lock.js'
import {type CliResult, fvm, fvmBin, snapshotTree, tempDir} from '../support/cli.js'
import {assertThinCheckPasses, THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'

export type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

export interface TestInstance {
  dir: string
  home: string
}

/**
 * Registers the hooks: a new instance (256 MiB pool, named alpha) before each test;
 * after a test that passed, `fvm check` and thin_check 0.9 and 1.x must pass too (after
 * one that failed, a failing hook would only stop the remaining tests); then it goes.
 */
export function useInstance(): TestInstance {
  const t: TestInstance = {dir: '', home: ''}
  before(function () {
    needTools(this, ...THIN_TOOLS)
  })
  beforeEach(() => {
    t.dir = tempDir('fvm-porcelain-')
    t.home = path.join(t.dir, 'home')
    const r = fvm(['init', '--home', t.home, '--size', '256MiB', '--name', 'alpha'])
    expect(r.status, r.stderr).to.equal(0)
  })
  afterEach(function () {
    try {
      if (this.currentTest?.state === 'passed') assertHealthy(t.home)
    } finally {
      fs.rmSync(t.dir, {recursive: true, force: true})
    }
  })
  return t
}

export function assertHealthy(home: string): void {
  const check = fvm(['check', '--home', home])
  expect(check.status, `fvm check: ${check.stdout}${check.stderr}`).to.equal(0)
  assertThinCheckPasses(path.join(home, 'pool/metadata'))
}

/**
 * Runs fvm on the instance (named by $FVM_HOME, so arguments after "--" stay last), with
 * stdin closed and a deadline: a prompt can only fail, never hang.
 */
export function run(home: string, args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [fvmBin, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 20_000,
    env: {...process.env, FVM_FAILPOINT: undefined, ...env, FVM_HOME: home},
  })
  if (r.error) throw r.error
  expect(r.signal, `fvm ${args.join(' ')} did not finish`).to.equal(null)
  return {status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr}
}

/** Runs with --json; returns what it printed, checking the exit code. */
export function json(home: string, args: string[], status = 0): Json {
  const end = args.includes('--') ? args.indexOf('--') : args.length
  const r = run(home, [...args.slice(0, end), '--json', ...args.slice(end)])
  let parsed: Json
  try {
    parsed = JSON.parse(r.stdout) as Json
  } catch {
    throw new Error(`fvm ${args.join(' ')}: not JSON (exit ${r.status}): ${r.stdout}${r.stderr}`)
  }
  expect(r.status, `fvm ${args.join(' ')}: ${r.stdout}${r.stderr}`).to.equal(status)
  return parsed
}

export const ok = (home: string, ...args: string[]): Json => json(home, args)

/**
 * Runs a command that must be refused with `status`, in --json and in text: the error
 * object names the kind, the message matches, and the home (fvm.yaml and pool/) is byte
 * for byte as it was.
 */
export function refused(home: string, args: string[], status: number, message: RegExp): Json {
  const before = snapshotTree(home)
  const {error} = json(home, args, status)
  expect(error.exitCode).to.equal(status)
  expect(error.message).to.match(message)
  const text = run(home, args)
  expect(text.status).to.equal(status)
  expect(text.stdout).to.equal('')
  expect(text.stderr).to.match(/^error: [a-z-"]/)
  expect(snapshotTree(home)).to.deep.equal(before)
  return error
}

/** The thin device of a branch, from the catalog. */
export function deviceOf(home: string, branch: string): number {
  const found = (ok(home, 'branch') as Json[]).find((b) => b.branch === branch)
  if (!found) throw new Error(`no branch ${branch}`)
  return found.device as number
}

/** Maps each of `vblocks` of the branch to a newly allocated data block (new content), in one pool commit. */
export function writeBlocks(home: string, branch: string, vblocks: number[]): void {
  const device = deviceOf(home, branch)
  const poolDir = path.join(home, 'pool')
  const release = lockPool(poolDir)
  try {
    const pool = ThinPool.open(poolDir)
    try {
      for (const v of vblocks) pool.insert(device, v, pool.allocateDataBlock())
      pool.commit()
    } finally {
      pool.close()
    }
  } finally {
    release()
  }
}

export const BAD_NAMES: [string, string][] = [
  ['../x', 'a path'],
  ['a/b/c', 'too many parts'],
  ['', 'empty'],
  ['x'.repeat(300), '300 characters'],
  ['-x', 'a leading dash'],
  ['semi;colon', 'a shell character'],
]
