// fvm's pools are genuine dm-thin pools: the real kernel, booted in a VM, reads every
// byte fvm wrote, and fvm reads every byte the kernel wrote (including a kernel
// create_snap and kernel copy-on-write), after which both thin_checks and fvm's own
// check pass and fvm keeps writing.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fvm, fvmBin} from '../support/cli.js'
import {THIN_TOOLS, assertThinCheckPasses} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'
import {dmScript} from './dm-script.js'
import {GUEST_WORK_DIR, kernelVmRequirements, runInKernelVm} from './vm.js'

const KiB = 1024
const MiB = 1024 * KiB
const BLOCK = 64 * KiB
const VOLUME = 8 * MiB
const SECTORS = VOLUME / 512

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

/** What a person's image of a device is: its bytes, written to in order. */
class Image {
  readonly bytes: Buffer

  constructor(from?: Image) {
    this.bytes = from ? Buffer.from(from.bytes) : Buffer.alloc(VOLUME)
  }

  write(offset: number, data: Buffer): this {
    data.copy(this.bytes, offset)
    return this
  }
}

function plumbing(...args: string[]): string {
  const r = fvm(['plumbing', ...args])
  if (r.status !== 0) throw new Error(`fvm plumbing ${args.join(' ')} failed (${r.status}): ${r.stdout}${r.stderr}`)
  return r.stdout
}

/** Runs bin/fvm with raw bytes in and out (the shared helper decodes text). */
function fvmRaw(args: string[], input?: Buffer): Buffer {
  const r = spawnSync(process.execPath, [fvmBin, 'plumbing', 'thin', ...args], {input, maxBuffer: 2 * VOLUME})
  if (r.status !== 0) throw new Error(`fvm plumbing thin ${args.join(' ')} failed (${r.status}): ${r.stderr.toString()}`)
  return r.stdout
}

function fvmWrite(pool: string, id: number, offset: number, data: Buffer): void {
  fvmRaw(['write', '--pool', pool, String(id), '--offset', String(offset)], data)
}

function fvmRead(pool: string, id: number): Buffer {
  return fvmRaw(['read', '--pool', pool, String(id), '--length', String(VOLUME)])
}

/** "name sha" lines the guest printed, by name. */
function shasOf(stdout: string, prefix: string): Map<string, string> {
  const shas = new Map<string, string>()
  for (const line of stdout.split('\n')) {
    const [tag, name, sum] = line.trim().split(' ')
    if (tag === prefix) shas.set(name, sum)
  }
  return shas
}

describe('the kernel and fvm share pools (kernel VM)', function () {
  this.timeout(300_000)
  let work: string
  let pool: string

  before(function () {
    needTools(this, ...kernelVmRequirements(), ...THIN_TOOLS)
    work = mkdtempSync(path.join(tmpdir(), 'fvm-interop-'))
    pool = path.join(work, 'pool')
  })
  after(() => rmSync(work, {recursive: true, force: true}))

  it('the kernel reads what fvm wrote, and fvm reads what the kernel wrote', async () => {
    // fvm writes: whole and partial blocks, a snapshot, copy-on-write on both sides.
    plumbing('pool', 'format', '--pool', pool, '--data-blocks', '1024')
    plumbing('thin', 'create', '--pool', pool, '1')
    const one = new Image()
    const writes1: Array<[number, Buffer]> = [[0, randomBytes(MiB)], [3 * MiB + 1234, randomBytes(100 * KiB)]]
    for (const [offset, data] of writes1) {
      fvmWrite(pool, 1, offset, data)
      one.write(offset, data)
    }
    plumbing('thin', 'snap', '--pool', pool, '2', '1')
    const two = new Image(one)
    const c = randomBytes(BLOCK + 500)
    fvmWrite(pool, 1, BLOCK - 250, c)
    one.write(BLOCK - 250, c)
    const d = randomBytes(3000)
    fvmWrite(pool, 2, 5 * MiB + 7, d)
    two.write(5 * MiB + 7, d)
    plumbing('thin', 'create', '--pool', pool, '3')
    const three = new Image()
    const e = randomBytes(40 * KiB)
    fvmWrite(pool, 3, VOLUME - 40 * KiB, e)
    three.write(VOLUME - 40 * KiB, e)
    assertThinCheckPasses(path.join(pool, 'metadata'))

    // The kernel: read everything, then write, snapshot and write again.
    const k1 = randomBytes(512 * KiB)
    const k2 = randomBytes(4096)
    const k3 = randomBytes(10 * KiB)
    writeFileSync(path.join(work, 'k1'), k1)
    writeFileSync(path.join(work, 'k2'), k2)
    writeFileSync(path.join(work, 'k3'), k3)
    const w = `${GUEST_WORK_DIR}`
    const result = await runInKernelVm(dmScript(`
pool_up pool ${w}/pool/metadata ${w}/pool/data 128 t1:1:${SECTORS} t2:2:${SECTORS} t3:3:${SECTORS}
for n in t1 t2 t3; do echo "fvm-wrote $n $(thin_sha256 $n)"; done
dd if=${w}/k1 of=/dev/mapper/t1 bs=64K seek=32 conv=fsync status=none
thin_snap pool t1 1 4
thin_up pool t4 4 ${SECTORS}
dd if=${w}/k2 of=/dev/mapper/t4 bs=4096 seek=513 conv=fsync status=none
dd if=${w}/k3 of=/dev/mapper/t3 bs=1024 seek=100 conv=fsync status=none
dd if=${w}/k2 of=/dev/mapper/t1 bs=4096 seek=0 conv=fsync status=none
for n in t1 t2 t3 t4; do echo "kernel-wrote $n $(thin_sha256 $n)"; done
pool_status=$(dmsetup status pool)
echo "status $pool_status"
pool_down pool
`), {workDir: work, timeoutMs: 240_000})
    expect(result.exitCode, result.stderr + result.console.slice(-2000)).to.equal(0)

    const fvmWrote = shasOf(result.stdout, 'fvm-wrote')
    expect(fvmWrote.get('t1'), 'device 1 through /dev/mapper').to.equal(sha256(one.bytes))
    expect(fvmWrote.get('t2'), 'device 2 (snapshot)').to.equal(sha256(two.bytes))
    expect(fvmWrote.get('t3'), 'device 3').to.equal(sha256(three.bytes))

    // What the kernel wrote, as a person would expect it; fvm must read the same.
    one.write(32 * BLOCK, k1)
    const four = new Image(one).write(513 * 4096, k2)
    one.write(0, k2)
    three.write(100 * KiB, k3)
    const kernelWrote = shasOf(result.stdout, 'kernel-wrote')
    const expected = new Map([[1, one], [2, two], [3, three], [4, four]])
    for (const [id, image] of expected) {
      expect(kernelWrote.get(`t${id}`), `kernel's device ${id}`).to.equal(sha256(image.bytes))
      expect(sha256(fvmRead(pool, id)), `fvm reads device ${id} as the kernel left it`).to.equal(sha256(image.bytes))
    }
    assertThinCheckPasses(path.join(pool, 'metadata'))
    expect(JSON.parse(plumbing('pool', 'check', '--pool', pool))).to.include({ok: true, fatal: 0})

    // fvm keeps writing to the pool the kernel last committed.
    const f = randomBytes(2 * BLOCK)
    fvmWrite(pool, 4, 6 * MiB, f)
    four.write(6 * MiB, f)
    expect(sha256(fvmRead(pool, 4))).to.equal(sha256(four.bytes))
    expect(sha256(fvmRead(pool, 1))).to.equal(sha256(one.bytes))
    assertThinCheckPasses(path.join(pool, 'metadata'))
    expect(JSON.parse(plumbing('pool', 'check', '--pool', pool))).to.include({ok: true, fatal: 0})
  })
})
