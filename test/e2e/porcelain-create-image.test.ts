// fvm volume create NAME --from IMAGE through the built bin/fvm: the volume holds the
// image (a regular file or a block device), its size defaults to the image's rounded up
// to 512 bytes, what --from names follows the documented precedence, bad input is
// refused before anything is created, and an import that fails part way leaves no
// volume behind.
import {expect} from 'chai'
import {execFileSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {fvm, fvmBin} from '../support/cli.js'
import {TmuxPane} from '../support/tmux.js'
import {needRoot, needTools} from '../support/tools.js'
import {type Json, assertHealthy, json, ok, refused, run, useInstance} from './porcelain-support.js'

const MiB = 2 ** 20
const BLOCK = 64 * 1024
const UUID = /^[0-9a-f-]{36}$/

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

describe('fvm volume create --from IMAGE (end to end)', function () {
  this.timeout(120_000)
  const t = useInstance()
  let image: string

  beforeEach(() => {
    image = path.join(t.dir, 'disk.img')
  })

  /** The volume's bytes, exported. */
  function exported(ref: string): Buffer {
    const out = path.join(t.dir, `export-${Date.now()}.raw`)
    ok(t.home, 'volume', 'export', ref, out)
    const bytes = fs.readFileSync(out)
    fs.rmSync(out)
    return bytes
  }

  it('a volume holding the image, as large as it; --json and text; its source recorded', () => {
    const content = randomBytes(MiB)
    content.fill(0, 3 * BLOCK, 5 * BLOCK)
    fs.writeFileSync(image, content)
    const created = ok(t.home, 'volume', 'create', 'vm', '--from', image)
    expect(created.volume).to.match(UUID)
    expect(created).to.deep.equal({
      volume: created.volume,
      name: 'vm',
      size: MiB,
      branch: 'vm/trunk',
      device: created.device,
      image: {file: image, bytesRead: MiB, blocksWritten: 14, blocksUnchanged: 2, blocksZeroed: 0},
    })
    expect(sha256(exported('vm/trunk'))).to.equal(sha256(content))
    const info = ok(t.home, 'volume', 'info', 'vm')
    expect(info.source).to.deep.equal({kind: 'image', image})
    expect(info.usedBlocks).to.equal(14)

    const text = run(t.home, ['volume', 'create', 'vm2', '--from', image])
    expect(text.status, text.stderr).to.equal(0)
    expect(text.stdout).to.equal(`Created volume "vm2" (1.00 MiB) with branch vm2/trunk from ${image}: 1.00 MiB read, 14 blocks written\n`)
  })

  it('the size: the image\'s rounded up to 512 bytes by default; --size may be larger', () => {
    const content = randomBytes(100_000)
    fs.writeFileSync(image, content)
    expect(ok(t.home, 'volume', 'create', 'odd', '--from', image).size).to.equal(100_352)
    const odd = exported('odd/trunk')
    expect(odd.length).to.equal(100_352)
    expect(odd.subarray(0, 100_000).equals(content)).to.equal(true)
    expect(odd.subarray(100_000).equals(Buffer.alloc(352))).to.equal(true)

    expect(ok(t.home, 'volume', 'create', 'roomy', '--from', image, '--size', '4MiB').size).to.equal(4 * MiB)
    const roomy = exported('roomy/trunk')
    expect(roomy.subarray(0, 100_000).equals(content)).to.equal(true)
    expect(roomy.subarray(100_000).equals(Buffer.alloc(4 * MiB - 100_000))).to.equal(true)

    fs.writeFileSync(image, '')
    expect(ok(t.home, 'volume', 'create', 'blank', '--from', image, '--size', '1MiB')).to.deep.include({size: MiB, image: {file: image, bytesRead: 0, blocksWritten: 0, blocksUnchanged: 0, blocksZeroed: 0}})
  })

  it('what --from names: a reference that exists wins; a path, or a name no reference has, is a file', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '1MiB')
    ok(t.home, 'tag', 'v1@data')
    fs.mkdirSync(path.join(t.dir, 'data'))
    for (const name of ['data/trunk', 'data/feature', 'v1@data', 'v2@data', 'disk.img']) fs.writeFileSync(path.join(t.dir, name), randomBytes(BLOCK))
    // Run where those files are, as a person would.
    const create = (name: string, from: string): Json => {
      const r = fvm(['volume', 'create', name, '--from', from, '--json'], {cwd: t.dir, env: {FVM_HOME: t.home}})
      expect(r.status, r.stdout + r.stderr).to.equal(0)
      return ok(t.home, 'volume', 'info', name).source as Json
    }
    expect(create('a', 'data/trunk')).to.deep.include({kind: 'copy', ref: 'data/trunk'})
    expect(create('b', 'v1@data')).to.deep.include({kind: 'copy', ref: 'v1@data'})
    expect(create('c', './data/trunk')).to.deep.equal({kind: 'image', image: path.join(t.dir, 'data/trunk')})
    expect(create('d', 'data/feature')).to.deep.equal({kind: 'image', image: path.join(t.dir, 'data/feature')})
    expect(create('e', 'v2@data')).to.deep.equal({kind: 'image', image: path.join(t.dir, 'v2@data')})
    expect(create('f', 'disk.img')).to.deep.equal({kind: 'image', image: path.join(t.dir, 'disk.img')})
  })

  it('refuses bad input before creating anything, changing nothing', () => {
    ok(t.home, 'volume', 'create', 'data', '--size', '1MiB')
    fs.writeFileSync(image, randomBytes(MiB))
    refused(t.home, ['volume', 'create', 'vm', '--from', path.join(t.dir, 'missing.img')], 3, /^no such file ".*\/missing\.img"$/)
    const bare = refused(t.home, ['volume', 'create', 'vm', '--from', 'missing.img'], 2, /^invalid reference "missing\.img": expected a branch/)
    expect(bare.hint).to.equal('no file "missing.img" either: --from takes TAG@VOLUME, VOLUME/BRANCH, HOST/VOLUME/BRANCH or an image file')
    refused(t.home, ['volume', 'create', 'vm', '--from', 'data/nope'], 3, /^branch "data\/nope" does not exist$/)
    const small = refused(t.home, ['volume', 'create', 'vm', '--from', image, '--size', '512KiB'], 2, /^size 524288 is smaller than image ".*disk\.img" \(1048576 bytes\)$/)
    expect(small.hint).to.include('never smaller')
    refused(t.home, ['volume', 'create', 'vm', '--from', t.dir], 2, /^".*" is a folder, not an image$/)
    const device = refused(t.home, ['volume', 'create', 'vm', '--from', '/dev/null'], 2, /^image "\/dev\/null" is not a regular file or block device$/)
    expect(device.hint).to.include('fvm volume import vm/trunk -')
    fs.writeFileSync(path.join(t.dir, 'empty.img'), '')
    refused(t.home, ['volume', 'create', 'vm', '--from', path.join(t.dir, 'empty.img')], 2, /^image ".*empty\.img" is empty$/)
    refused(t.home, ['volume', 'create', 'data', '--from', image], 4, /^volume "data" already exists$/)
    refused(t.home, ['volume', 'create', '--from', image, '--', '../x'], 2, /^invalid volume name "\.\.\/x"/)
    fs.appendFileSync(path.join(t.home, 'fvm.yaml'), 'quota: 1536KiB\n')
    refused(t.home, ['volume', 'create', 'vm', '--from', image], 6, /^quota exceeded by 524288 bytes/)
    expect((ok(t.home, 'volume', 'list') as Json[]).map((v) => v.name)).to.deep.equal(['data'])
  })

  it('an import that fails part way (the pool fills up) removes the volume again', () => {
    const home = path.join(t.dir, 'small')
    ok(home, 'init', '--size', '1MiB', '--name', 'small')
    fs.writeFileSync(image, randomBytes(2 * MiB))
    const error = json(home, ['volume', 'create', 'vm', '--from', image], 6).error
    expect(error.message).to.match(/is out of data space/)
    expect(ok(home, 'volume', 'list')).to.deep.equal([])
    expect(ok(home, 'status')).to.deep.nested.include({'pool.usedDataBlocks': 0})
    assertHealthy(home)
  })

  it('from a block device: its size from the kernel, its bytes', function () {
    needRoot(this)
    needTools(this, 'losetup')
    const content = randomBytes(MiB)
    fs.writeFileSync(image, content)
    const loop = execFileSync('losetup', ['--find', '--show', image], {encoding: 'utf8'}).trim()
    try {
      expect(ok(t.home, 'volume', 'create', 'dev', '--from', loop)).to.deep.include({size: MiB, image: {file: loop, bytesRead: MiB, blocksWritten: 16, blocksUnchanged: 0, blocksZeroed: 0}})
    } finally {
      execFileSync('losetup', ['--detach', loop])
    }
    expect(sha256(exported('dev/trunk'))).to.equal(sha256(content))
  })

  it('shows a progress bar on a terminal', async function () {
    needTools(this, 'tmux')
    fs.writeFileSync(image, randomBytes(8 * MiB))
    const pane = TmuxPane.start([process.execPath, fvmBin, 'volume', 'create', 'vm', '--from', image], {env: {FVM_HOME: t.home, NO_COLOR: '1'}, width: 200})
    try {
      expect(await pane.exitCode()).to.equal(0)
      const screen = pane.screen()
      expect(screen).to.match(/Importing .*disk\.img into vm\/trunk \[#+\] 100% 8\.00 MiB\/8\.00 MiB/)
      expect(screen).to.include('Created volume "vm" (8.00 MiB) with branch vm/trunk')
    } finally {
      pane.kill()
    }
  })
})
