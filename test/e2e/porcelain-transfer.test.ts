// fvm volume export|import through the built bin/fvm: raw images out (sparse files,
// zeros on pipes) and in (only changed blocks written, zero blocks unmapped), sharing
// kept with tags, and refusals with their exit codes.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {fvmBin} from '../support/cli.js'
import {type Json, ok, refused, useInstance} from './porcelain-support.js'

const MiB = 2 ** 20
const BLOCK = 64 * 1024
const SIZE = 4 * MiB

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

/** Runs fvm with bytes on stdin, returning stdout as bytes. */
function piped(home: string, args: string[], input?: Buffer): {status: number, stdout: Buffer, stderr: string} {
  const r = spawnSync(process.execPath, [fvmBin, ...args], {
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * MiB,
    timeout: 20_000,
    env: {...process.env, FVM_FAILPOINT: undefined, FVM_HOME: home},
  })
  if (r.error) throw r.error
  return {status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString()}
}

function usedBlocks(home: string): number {
  return (ok(home, 'volume', 'info', 'data') as Json).usedBlocks as number
}

describe('fvm volume export/import (end to end)', function () {
  this.timeout(60_000)
  const t = useInstance()
  let image: string
  let out: string

  beforeEach(() => {
    ok(t.home, 'volume', 'create', 'data', '--size', '4MiB')
    image = path.join(t.dir, 'image.raw')
    out = path.join(t.dir, 'out.raw')
  })

  it('export of a fresh volume: all zeros, sparse, private', () => {
    const r = ok(t.home, 'volume', 'export', 'data/trunk', out)
    expect(r).to.deep.equal({ref: 'data/trunk', device: r.device, bytes: SIZE, dataBytes: 0, holeBytes: SIZE})
    const stat = fs.statSync(out)
    expect(stat.size).to.equal(SIZE)
    expect(stat.mode & 0o777).to.equal(0o600)
    expect(stat.blocks * 512).to.be.lessThan(64 * 1024)
    expect(fs.readFileSync(out).equals(Buffer.alloc(SIZE))).to.equal(true)
  })

  it('import then export round trips; re-import writes nothing; one changed block writes one', () => {
    const content = randomBytes(SIZE)
    fs.writeFileSync(image, content)
    const first = ok(t.home, 'volume', 'import', 'data/trunk', image)
    expect(first).to.deep.equal({branch: 'data/trunk', device: first.device, bytesRead: SIZE, blocksWritten: SIZE / BLOCK, blocksUnchanged: 0, blocksZeroed: 0})
    expect(usedBlocks(t.home)).to.equal(SIZE / BLOCK)
    ok(t.home, 'volume', 'export', 'data/trunk', out)
    expect(sha256(fs.readFileSync(out))).to.equal(sha256(content))

    expect(ok(t.home, 'volume', 'import', 'data/trunk', image)).to.deep.include({blocksWritten: 0, blocksUnchanged: SIZE / BLOCK, blocksZeroed: 0})

    content[5 * BLOCK + 17] ^= 0xff
    fs.writeFileSync(image, content)
    expect(ok(t.home, 'volume', 'import', 'data/trunk', image)).to.deep.include({blocksWritten: 1, blocksUnchanged: SIZE / BLOCK - 1, blocksZeroed: 0})
    ok(t.home, 'volume', 'export', 'data/trunk', out, '--force')
    expect(sha256(fs.readFileSync(out))).to.equal(sha256(content))
  })

  it('a zero block unmaps, freeing it; a tag taken before a re-import keeps the old content', () => {
    const old = randomBytes(SIZE)
    fs.writeFileSync(image, old)
    ok(t.home, 'volume', 'import', 'data/trunk', image)
    expect(usedBlocks(t.home)).to.equal(SIZE / BLOCK)
    old.fill(0, 0, BLOCK)
    fs.writeFileSync(image, old)
    expect(ok(t.home, 'volume', 'import', 'data/trunk', image)).to.deep.include({blocksZeroed: 1, blocksWritten: 0, blocksUnchanged: SIZE / BLOCK - 1})
    expect(usedBlocks(t.home)).to.equal(SIZE / BLOCK - 1)

    ok(t.home, 'tag', 'v1@data', '--from', 'data/trunk')
    const changed = Buffer.from(old)
    changed.fill(0, 3 * BLOCK, 4 * BLOCK)
    changed[10 * BLOCK] ^= 1
    fs.writeFileSync(image, changed)
    expect(ok(t.home, 'volume', 'import', 'data/trunk', image)).to.deep.include({blocksWritten: 1, blocksZeroed: 1, blocksUnchanged: SIZE / BLOCK - 2})
    // The tag keeps the two old blocks; the branch shares the rest with it and adds one.
    expect(usedBlocks(t.home)).to.equal(SIZE / BLOCK)
    ok(t.home, 'volume', 'export', 'v1@data', out)
    expect(sha256(fs.readFileSync(out))).to.equal(sha256(old))
    const now = path.join(t.dir, 'now.raw')
    expect(ok(t.home, 'volume', 'export', 'data/trunk', now)).to.deep.include({dataBytes: SIZE - 2 * BLOCK, holeBytes: 2 * BLOCK})
    expect(sha256(fs.readFileSync(now))).to.equal(sha256(changed))
  })

  it('stdin and stdout: a round trip through pipes, at an offset', () => {
    const content = randomBytes(SIZE / 2)
    const imported = piped(t.home, ['volume', 'import', 'data/trunk', '-', '--offset', '2MiB', '--json'], content)
    expect(imported.status, imported.stderr).to.equal(0)
    expect(JSON.parse(imported.stdout.toString())).to.deep.include({bytesRead: SIZE / 2, blocksWritten: SIZE / 2 / BLOCK})
    const exported = piped(t.home, ['volume', 'export', 'data/trunk', '-'])
    expect(exported.status, exported.stderr).to.equal(0)
    expect(exported.stdout.length).to.equal(SIZE)
    expect(exported.stdout.subarray(0, SIZE / 2).equals(Buffer.alloc(SIZE / 2))).to.equal(true)
    expect(sha256(exported.stdout.subarray(SIZE / 2))).to.equal(sha256(content))
    expect(exported.stderr).to.match(/^Exported data\/trunk/)
  })

  it('refusals: read-only targets, existing files, unknown refs, bad offsets, images too big', () => {
    fs.writeFileSync(image, randomBytes(BLOCK))
    ok(t.home, 'tag', 'v1@data', '--from', 'data/trunk')
    expect(refused(t.home, ['volume', 'import', 'v1@data', image], 2, /^tag "v1@data" is read-only$/).hint).to.include('branch')
    fs.writeFileSync(out, 'keep me')
    refused(t.home, ['volume', 'export', 'data/trunk', out], 4, /already exists/)
    expect(fs.readFileSync(out, 'utf8')).to.equal('keep me')
    refused(t.home, ['volume', 'export', 'data/nope', path.join(t.dir, 'x')], 3, /does not exist/)
    refused(t.home, ['volume', 'export', 'v9@data', path.join(t.dir, 'x')], 3, /does not exist/)
    expect(fs.existsSync(path.join(t.dir, 'x'))).to.equal(false)
    refused(t.home, ['volume', 'import', 'data/nope', image], 3, /does not exist/)
    refused(t.home, ['volume', 'export', 'a/b/c/d', out], 2, /^invalid reference/)
    refused(t.home, ['volume', 'import', 'data/trunk', image, '--offset', '1000'], 2, /not a multiple/)
    refused(t.home, ['volume', 'import', 'data/trunk', image, '--offset', '4MiB'], 2, /does not fit/)
    refused(t.home, ['volume', 'import', 'data/trunk', path.join(t.dir, 'missing')], 3, /no such file/)
    const big = piped(t.home, ['volume', 'import', 'data/trunk', '-', '--json'], randomBytes(SIZE + BLOCK))
    expect(big.status).to.equal(2)
    expect(usedBlocks(t.home)).to.equal(0)
  })
})
