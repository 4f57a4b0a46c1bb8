// Volume I/O through the built bin/fvm: bytes in through stdin (a file, a pipe, a
// socket) and out through stdout, equal by sha256; copy-on-write and discard seen from
// the CLI; bad input refused with its exit code and nothing changed; thin_check after.
import {spawnSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {expect} from 'chai'
import {fvm, fvmBin, jsonOf, snapshotTree, tempDir} from '../support/cli.js'
import {assertThinCheckPasses, THIN_TOOLS} from '../support/thin-tools.js'
import {needTools} from '../support/tools.js'

const BS = 64 * 1024

interface Raw {
  status: number
  stdout: Buffer
  stderr: string
}

/** fvm plumbing ARGS with binary stdin and stdout. */
function raw(args: string[], input?: Buffer): Raw {
  const r = spawnSync(process.execPath, [fvmBin, 'plumbing', ...args], {input, maxBuffer: 1 << 28})
  if (r.error) throw r.error
  return {status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString()}
}

/** A shell line, for redirections and pipes, in which `fvm` is the built fvm. */
function sh(script: string): Raw {
  const env = {...process.env, FVM_NODE: process.execPath, FVM_BIN: fvmBin}
  const r = spawnSync('sh', ['-c', `fvm() { "$FVM_NODE" "$FVM_BIN" "$@"; }; ${script}`], {env, maxBuffer: 1 << 28})
  if (r.error) throw r.error
  return {status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString()}
}

function ok(r: Raw): Record<string, unknown> {
  expect(r.status, `${r.stdout.toString()}\n${r.stderr}`).to.equal(0)
  return jsonOf(r)
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describe('fvm plumbing thin write|read|discard (end to end)', function () {
  this.timeout(120_000)
  let dir: string
  let pool: string
  before(function () {
    needTools(this, ...THIN_TOOLS)
  })
  beforeEach(() => {
    dir = tempDir()
    pool = path.join(dir, 'pool')
    ok(raw(['pool', 'format', '--pool', pool, '--data-blocks', '256']))
    ok(raw(['thin', 'create', '--pool', pool, '1']))
  })
  afterEach(function () {
    if (this.currentTest?.state === 'passed') assertThinCheckPasses(path.join(pool, 'metadata'))
    fs.rmSync(dir, {recursive: true, force: true})
  })

  it('writes stdin and reads it back byte for byte, from a file, a pipe and a socket', () => {
    const data = randomBytes(3 * 1024 * 1024 + 12345)
    const input = path.join(dir, 'in')
    fs.writeFileSync(input, data)
    expect(ok(sh(`fvm plumbing thin write --pool '${pool}' 1 --offset 100 < '${input}'`))).to.deep.equal({
      id: 1, offset: 100, bytesWritten: data.length, blocksAllocated: Math.ceil((data.length + 100) / BS), blocksCopied: 0,
    })
    expect(ok(sh(`cat '${input}' | fvm plumbing thin write --pool '${pool}' 1 --offset 8MiB`)).bytesWritten).to.equal(data.length)
    expect(ok(raw(['thin', 'write', '--pool', pool, '1', '--offset', String(13 * 1024 * 1024 - 7)], data)).bytesWritten).to.equal(data.length)

    const out = path.join(dir, 'out')
    const read = sh(`fvm plumbing thin read --pool '${pool}' 1 --offset 100 --length ${data.length} > '${out}'`)
    expect(read.status, read.stderr).to.equal(0)
    expect(sha256(fs.readFileSync(out))).to.equal(sha256(data))
    expect(sha256(sh(`fvm plumbing thin read --pool '${pool}' 1 --offset 8MiB --length ${data.length} | cat`).stdout)).to.equal(sha256(data))
    expect(sha256(raw(['thin', 'read', '--pool', pool, '1', '--offset', String(13 * 1024 * 1024 - 7), '--length', String(data.length)]).stdout))
      .to.equal(sha256(data))
    // Around and between the writes: zeros.
    const whole = raw(['thin', 'read', '--pool', pool, '1', '--length', '17MiB']).stdout
    expect(whole.length).to.equal(17 * 1024 * 1024)
    expect(whole.subarray(0, 100).equals(Buffer.alloc(100))).to.equal(true)
    expect(whole.subarray(100 + data.length, 8 * 1024 * 1024).equals(Buffer.alloc(8 * 1024 * 1024 - 100 - data.length))).to.equal(true)
    expect(whole.subarray(13 * 1024 * 1024 - 7 + data.length).equals(Buffer.alloc(17 * 1024 * 1024 - 13 * 1024 * 1024 + 7 - data.length)))
      .to.equal(true)
  })

  it('read ends quietly when its reader goes away (| head)', () => {
    ok(raw(['thin', 'write', '--pool', pool, '1'], randomBytes(8 * 1024 * 1024)))
    const r = sh(`{ fvm plumbing thin read --pool '${pool}' 1 --length 16MiB; echo "exit $?" >&2; } | head -c 10 > /dev/null`)
    expect(r.stderr).to.equal('exit 0\n')
  })

  it('--length writes exactly that many bytes; a shorter input fails with nothing changed', () => {
    expect(ok(raw(['thin', 'write', '--pool', pool, '1', '--length', '5'], Buffer.from('hello world'))).bytesWritten).to.equal(5)
    expect(raw(['thin', 'read', '--pool', pool, '1', '--length', '11']).stdout.equals(Buffer.from('hello\0\0\0\0\0\0'))).to.equal(true)
    const before = snapshotTree(pool)
    const short = raw(['thin', 'write', '--pool', pool, '1', '--offset', '1MiB', '--length', '10'], Buffer.from('abc'))
    expect(short.status).to.equal(2)
    expect(jsonOf(short).error).to.include({kind: 'usage', message: 'input ended after 3 of the 10 bytes to write'})
    expect(snapshotTree(pool)).to.deep.equal(before)
  })

  it('copies blocks shared with a snapshot: the snapshot reads as before', () => {
    const original = randomBytes(200_000)
    ok(raw(['thin', 'write', '--pool', pool, '1'], original))
    ok(raw(['thin', 'snap', '--pool', pool, '2', '1']))
    const patch = randomBytes(1000)
    expect(ok(raw(['thin', 'write', '--pool', pool, '1', '--offset', '60000'], patch))).to.include({blocksAllocated: 1, blocksCopied: 1})
    expect(sha256(raw(['thin', 'read', '--pool', pool, '2', '--length', '200000']).stdout)).to.equal(sha256(original))
    const patched = Buffer.from(original)
    patch.copy(patched, 60000)
    expect(sha256(raw(['thin', 'read', '--pool', pool, '1', '--length', '200000']).stdout)).to.equal(sha256(patched))
  })

  it('discard makes the range read as zeros and frees the whole blocks in it', () => {
    const original = randomBytes(5 * BS)
    ok(raw(['thin', 'write', '--pool', pool, '1'], original))
    expect(ok(raw(['thin', 'discard', '--pool', pool, '1', '--offset', '1000', '--length', String(3 * BS)]))).to.deep.equal({
      id: 1, offset: 1000, length: 3 * BS, blocksUnmapped: 2, blocksFreed: 2, bytesZeroed: BS,
    })
    const expected = Buffer.from(original).fill(0, 1000, 1000 + 3 * BS)
    expect(raw(['thin', 'read', '--pool', pool, '1', '--length', String(5 * BS)]).stdout.equals(expected)).to.equal(true)
    expect(ok(raw(['pool', 'status', '--pool', pool])).usedDataBlocks).to.equal(3)
  })

  describe('refuses bad input with its exit code, changing nothing', () => {
    const cases: [string, string[], number, RegExp][] = [
      ['a negative offset', ['write', '1', '--offset', '-1'], 2, /invalid offset "-1": must not be negative/],
      ['a decimal unit', ['write', '1', '--offset', '12XB'], 2, /invalid offset "12XB"/],
      ['a fractional length', ['read', '1', '--length', '1.5'], 2, /invalid length "1.5"/],
      ['a negative discard length', ['discard', '1', '--length', '-1'], 2, /invalid length "-1"/],
      ['no --length for read', ['read', '1'], 2, /missing required flag|error occurred/i],
      ['a range beyond 2^53', ['write', '1', '--offset', '9007199254740991'], 2, /ends beyond 2\^53-1/],
      ['a bad device id', ['discard', 'x', '--length', '1'], 2, /invalid device id "x"/],
      ['a missing device (write)', ['write', '9'], 3, /thin device 9 does not exist/],
      ['a missing device (read)', ['read', '9', '--length', '1'], 3, /thin device 9 does not exist/],
      ['a missing device (discard)', ['discard', '9', '--length', '1'], 3, /thin device 9 does not exist/],
    ]
    for (const [what, [verb, ...rest], code, message] of cases) {
      it(what, () => {
        const before = snapshotTree(pool)
        const r = raw(['thin', verb, '--pool', pool, ...rest, '--json'], Buffer.from('xyz'))
        expect(r.status, r.stdout.toString()).to.equal(code)
        expect((jsonOf(r).error as {message: string}).message).to.match(message)
        expect(snapshotTree(pool)).to.deep.equal(before)
      })
    }

    it('a missing pool', () => {
      const r = raw(['thin', 'read', '--pool', path.join(dir, 'nowhere'), '1', '--length', '1'])
      expect(r.status).to.equal(3)
      expect(r.stderr).to.include(`no pool at "${path.join(dir, 'nowhere')}"`)
    })

    it('read reports errors on stderr as text, keeping stdout for data', () => {
      const r = raw(['thin', 'read', '--pool', pool, '9', '--length', '1'])
      expect(r.status).to.equal(3)
      expect(r.stdout.length).to.equal(0)
      expect(r.stderr).to.match(/^error: thin device 9 does not exist/)
    })
  })

  it('documents each command with examples', () => {
    for (const verb of ['write', 'read', 'discard']) {
      const r = fvm(['plumbing', 'thin', verb, '--help'])
      expect(r.status).to.equal(0)
      expect(r.stdout).to.include('EXAMPLES').and.to.include('--offset').and.to.include('--length')
    }
  })
})
