// What the replication tests share: two (or more) instances in one temp dir, each
// checked after a passing test by `fvm check` and both thin_checks; filling a volume
// from random bytes; a branch's content as sha256; counting volume blocks.
import {expect} from 'chai'
import {createHash, randomBytes} from 'node:crypto'
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {fvm, fvmBin, tempDir} from '../support/cli.js'
import {THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {assertHealthy, ok} from './porcelain-support.js'

export interface Instances {
  dir: string
  home(name: string): string
}

/** Instances made on first use (pool 512 MiB), all checked after a passing test, then removed. */
export function useInstances(): Instances {
  const t = {dir: '', made: new Set<string>()}
  before(function () {
    needTools(this, ...THIN_TOOLS)
  })
  beforeEach(() => {
    t.dir = tempDir('fvm-replicate-')
    t.made = new Set()
  })
  afterEach(function () {
    try {
      if (this.currentTest?.state === 'passed') for (const name of t.made) assertHealthy(path.join(t.dir, name))
    } finally {
      fs.rmSync(t.dir, {recursive: true, force: true})
    }
  })
  return {
    get dir() {
      return t.dir
    },
    home(name: string): string {
      const home = path.join(t.dir, name)
      if (!t.made.has(name)) {
        const r = fvm(['init', '--home', home, '--size', '512MiB', '--name', name])
        expect(r.status, r.stderr).to.equal(0)
        t.made.add(name)
      }
      return home
    },
  }
}

/** Writes `bytes` random bytes at `offset` of the branch (whole 64 KiB blocks). */
export function fill(home: string, branch: string, offset: number, bytes: number): void {
  const file = path.join(path.dirname(home), `fill-${process.pid}-${offset}.img`)
  fs.writeFileSync(file, randomBytes(bytes))
  try {
    ok(home, 'volume', 'import', branch, file, '--offset', String(offset))
  } finally {
    fs.rmSync(file)
  }
}

/** sha256 of everything a branch, tag or remote branch reads as. */
export function contentHash(home: string, ref: string): string {
  const r = spawnSync(process.execPath, [fvmBin, 'volume', 'export', ref, '-', '--home', home], {maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe']})
  expect(r.status, r.stderr.toString()).to.equal(0)
  return createHash('sha256').update(r.stdout).digest('hex')
}
