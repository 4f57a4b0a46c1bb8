// fvm volume import from a pipe that turns out larger than the volume: refused only once
// the blocks that fit were written, and rolled back. Blocks the branch held unshared
// must not have been overwritten in place, or the rolled-back metadata would point at
// changed data: the branch's bytes, its blocks and the pool's health stay as they were.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {fvmBin} from '../support/cli.js'
import {type Json, ok, useInstance} from './porcelain-support.js'

const MiB = 2 ** 20
const BLOCK = 64 * 1024

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

describe('fvm volume import from a pipe too large for the volume (end to end)', function () {
  this.timeout(60_000)
  const t = useInstance()

  /** Imports `input` through a pipe on stdin. */
  function importPiped(branch: string, input: Buffer): {status: number, error: Json} {
    const r = spawnSync(process.execPath, [fvmBin, 'volume', 'import', branch, '-', '--json'], {
      input,
      encoding: 'utf8',
      timeout: 20_000,
      env: {...process.env, FVM_FAILPOINT: undefined, FVM_HOME: t.home},
    })
    if (r.error) throw r.error
    return {status: r.status ?? -1, error: (JSON.parse(r.stdout) as Json).error}
  }

  /** The branch's bytes, its data blocks (thin_dump's view) and the pool's transaction. */
  function state(volume: string): {sha: string, usage: Json} {
    const out = path.join(t.dir, 'export.raw')
    ok(t.home, 'volume', 'export', `${volume}/trunk`, out, '--force')
    const {usedBlocks, exclusiveBlocks} = ok(t.home, 'volume', 'info', volume)
    return {sha: sha256(fs.readFileSync(out)), usage: {usedBlocks, exclusiveBlocks}}
  }

  for (const [what, size] of [['a whole number of blocks', MiB], ['a partial last block', 100_352]] as const) {
    it(`leaves a branch of unshared blocks exactly as it was (${what})`, () => {
      ok(t.home, 'volume', 'create', 'data', '--size', String(size))
      const image = path.join(t.dir, 'image.raw')
      fs.writeFileSync(image, randomBytes(size))
      ok(t.home, 'volume', 'import', 'data/trunk', image)
      const before = state('data')

      const refused = importPiped('data/trunk', randomBytes(size + BLOCK))
      expect(refused.status).to.equal(2)
      expect(refused.error).to.deep.include({kind: 'usage', exitCode: 2})
      expect(refused.error.message).to.match(/^the image \(\d+ or more bytes\) does not fit in "data\/trunk" at offset 0/)
      expect(state('data')).to.deep.equal(before)
    })
  }
})
