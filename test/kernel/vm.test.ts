// The real kernel's dm-thin, booted under qemu: it builds a pool with a thin device and a
// snapshot on files the host made, and the host's thin-provisioning-tools accept what it
// wrote. Also the harness itself: exit codes, output and timeouts.
import {expect} from 'chai'
import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {THIN_TOOLS, assertThinCheckPasses, thinTools} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {dmScript} from './dm-script.js'
import {findKernel} from './kernel.js'
import {VmTimeoutError, kernelVmRequirements, runInKernelVm} from './vm.js'

const KiB = 1024
const MiB = 1024 * KiB
const BLOCK_SECTORS = 128
const BLOCK = BLOCK_SECTORS * 512
const THIN_BYTES = 8 * MiB

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

/** A thin device's expected content: zeros with the writes applied in order. */
function image(writes: Array<[offset: number, data: Buffer]>): Buffer {
  const dev = Buffer.alloc(THIN_BYTES)
  for (const [offset, data] of writes) data.copy(dev, offset)
  return dev
}

/** Each device's mappings from thin_dump XML: dev id -> (thin block -> data block). */
function mappings(xml: string): Map<number, Map<number, number>> {
  const devices = new Map<number, Map<number, number>>()
  let current = new Map<number, number>()
  for (const [tag] of xml.matchAll(/<[^>]+>/g)) {
    const attr = (name: string): number => Number(new RegExp(`${name}="(\\d+)"`).exec(tag)?.[1])
    if (tag.startsWith('<device ')) devices.set(attr('dev_id'), (current = new Map()))
    else if (tag.startsWith('<single_mapping ')) current.set(attr('origin_block'), attr('data_block'))
    else if (tag.startsWith('<range_mapping ')) {
      for (let i = 0; i < attr('length'); i++) current.set(attr('origin_begin') + i, attr('data_begin') + i)
    }
  }
  return devices
}

function mkWorkDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'fvm-kernel-'))
}

describe('kernel dm-thin in a VM', function () {
  this.timeout(180_000)
  const a = randomBytes(1 * MiB)
  const b = randomBytes(1 * MiB)
  const c = randomBytes(BLOCK)
  let workDir: string
  let reported: Map<string, string>

  before(async function () {
    needTools(this, ...kernelVmRequirements(), ...THIN_TOOLS)
    workDir = mkWorkDir()
    writeFileSync(path.join(workDir, 'meta'), '')
    truncateSync(path.join(workDir, 'meta'), 4 * MiB)
    writeFileSync(path.join(workDir, 'data'), '')
    truncateSync(path.join(workDir, 'data'), 64 * MiB)
    writeFileSync(path.join(workDir, 'a.bin'), a)
    writeFileSync(path.join(workDir, 'b.bin'), b)
    writeFileSync(path.join(workDir, 'c.bin'), c)
    // a fills thin blocks 0-15 before the snapshot; then b goes to blocks 32-47 and c
    // overwrites block 0 of the origin only, which must break its sharing with the snapshot.
    const run = await runInKernelVm(dmScript(`
      pool_up pool meta data ${BLOCK_SECTORS}
      pool_msg pool create_thin 1
      thin_up pool thin1 1 ${THIN_BYTES / 512}
      dd if=a.bin of=/dev/mapper/thin1 bs=64K oflag=direct status=none
      echo "before-snap $(thin_sha256 thin1)"
      thin_snap pool thin1 1 2
      thin_up pool snap2 2 ${THIN_BYTES / 512}
      dd if=b.bin of=/dev/mapper/thin1 bs=64K seek=32 oflag=direct status=none
      dd if=c.bin of=/dev/mapper/thin1 bs=64K oflag=direct status=none
      echo "thin1 $(thin_sha256 thin1)"
      echo "snap2 $(thin_sha256 snap2)"
      echo "pool-status $(dmsetup status pool)"
      pool_down pool
      echo "dm-devices $(dmsetup ls)"
      echo "loop-devices $(losetup -a | wc -l)"
      pool_up pool meta data ${BLOCK_SECTORS} thin1:1:${THIN_BYTES / 512} snap2:2:${THIN_BYTES / 512}
      echo "reactivated $(thin_sha256 thin1) $(thin_sha256 snap2)"
      pool_down pool
    `), {workDir})
    if (run.exitCode !== 0) throw new Error(`guest script failed (exit ${run.exitCode}):\n${run.stderr}\n${run.console}`)
    reported = new Map(run.stdout.trim().split('\n').map((line) => [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)]))
  })

  after(() => {
    if (workDir) rmSync(workDir, {recursive: true, force: true})
  })

  it('reads back what was written to a new thin device', () => {
    expect(reported.get('before-snap')).to.equal(sha256(image([[0, a]])))
  })

  it('keeps the snapshot at its origin\'s old content while the origin moves on', () => {
    expect(reported.get('snap2')).to.equal(sha256(image([[0, a]])))
    expect(reported.get('thin1')).to.equal(sha256(image([[0, a], [2 * MiB, b], [0, c]])))
  })

  it('counts the blocks the snapshot shares once: 16 + 16 + 1 copied on write', () => {
    const [, , , , , data] = reported.get('pool-status')!.split(' ')
    expect(data).to.equal('33/1024')
  })

  it('reads both devices back unchanged after the pool is torn down and activated again', () => {
    expect(reported.get('reactivated')).to.equal(`${reported.get('thin1')} ${reported.get('snap2')}`)
  })

  it('leaves no dm or loop device behind after pool_down', () => {
    expect(reported.get('dm-devices')).to.equal('No devices found')
    expect(reported.get('loop-devices')).to.equal('0')
  })

  it('wrote metadata that thin_check of both generations accepts', () => {
    assertThinCheckPasses(path.join(workDir, 'meta'))
  })

  for (const gen of ['v0.9', 'v1'] as const) {
    it(`wrote devices 1 and 2 sharing all but the overwritten block (thin_dump ${gen})`, () => {
      const dump = thinTools.dump(path.join(workDir, 'meta'), gen)
      expect(dump.status, dump.stderr).to.equal(0)
      const devices = mappings(dump.stdout)
      expect([...devices.keys()]).to.deep.equal([1, 2])
      const [origin, snap] = [devices.get(1)!, devices.get(2)!]
      expect([...origin.keys()].sort((x, y) => x - y)).to.deep.equal([...Array(16).keys(), ...Array.from({length: 16}, (_, i) => 32 + i)])
      expect([...snap.keys()].sort((x, y) => x - y)).to.deep.equal([...Array(16).keys()])
      for (let block = 1; block < 16; block++) expect(origin.get(block)).to.equal(snap.get(block))
      expect(origin.get(0)).to.not.equal(snap.get(0))
    })
  }
})

describe('kernel VM harness', function () {
  this.timeout(120_000)
  let workDir: string

  before(function () {
    needTools(this, ...kernelVmRequirements())
    workDir = mkWorkDir()
  })

  after(() => {
    if (workDir) rmSync(workDir, {recursive: true, force: true})
  })

  it('returns a failing script\'s exit code and output, from the host\'s kernel with dm-thin loaded', async () => {
    const run = await runInKernelVm('uname -r; dmsetup targets | cut -d" " -f1; echo oops >&2; exit 7', {workDir})
    expect(run.exitCode).to.equal(7)
    const [release, ...targets] = run.stdout.trim().split('\n')
    expect(release).to.equal(findKernel()!.version)
    expect(targets).to.include.members(['thin-pool', 'thin'])
    expect(run.stderr).to.equal('oops\n')
  })

  it('kills qemu and says so when the run exceeds its timeout', async () => {
    const error: unknown = await runInKernelVm('sleep 600', {workDir, timeoutMs: 5000}).then(() => undefined, (e: unknown) => e)
    expect(error).to.be.instanceOf(VmTimeoutError)
    const timeout = error as VmTimeoutError
    expect(timeout.message).to.match(/timed out after 5000 ms; killed qemu/)
    expect(() => process.kill(timeout.pid, 0)).to.throw(/ESRCH/)
  })
})
