// `fvm serve` asks for 1 MiB pipes where sshd gives it pipes (src/ui/pipe-buffers.ts),
// seen from outside through /proc; without perl to ask, it serves all the same.
import {expect} from 'chai'
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {MESSAGE_KIND, PROTOCOL_VERSION} from '../../src/plumbing/replicate/session.js'
import {encodeJsonFrame} from '../../src/plumbing/stream/frames.js'
import {fvm, fvmBin, tempDir} from '../support/cli.js'
import {needTools} from '../support/tools.js'

const hello = encodeJsonFrame(MESSAGE_KIND, {op: 'hello', protocol: PROTOCOL_VERSION, instance: {name: 'sender', uuid: '00000000-0000-4000-8000-000000000001'}})
const bye = encodeJsonFrame(MESSAGE_KIND, {op: 'bye'})

/** The capacity of the pipe `file` (a /proc fd link) names, as F_GETPIPE_SZ reports it. */
function pipeSize(file: string): number {
  return Number(execFileSync('perl', ['-e', 'open(my $f, "<", $ARGV[0]) or die "$!"; print fcntl($f, 1032, 0)', file], {encoding: 'utf8'}))
}

describe('fvm serve pipe buffers', function () {
  this.timeout(60_000)
  let dir: string
  let home: string

  before(function () {
    needTools(this, 'perl', 'mkfifo')
    dir = tempDir('fvm-serve-pipes-')
    home = path.join(dir, 'beta')
    expect(fvm(['init', '--home', home, '--size', '64MiB', '--name', 'beta']).status).to.equal(0)
  })
  after(() => {
    if (dir) fs.rmSync(dir, {recursive: true, force: true})
  })

  it('enlarges stdin and stdout to 1 MiB when they are pipes, leaving them non-blocking', async () => {
    const fifos = ['in', 'out'].map((name) => path.join(dir, name))
    for (const fifo of fifos) execFileSync('mkfifo', [fifo])
    // Read and write ends at once (r+ does not wait for the other side); serve waits for a hello meanwhile.
    const [input, output] = fifos.map((fifo) => fs.openSync(fifo, 'r+'))
    const child = spawn(process.execPath, [fvmBin, 'serve', '--home', home], {stdio: [input, output, 'ignore']})
    try {
      const sizes = async (): Promise<number[]> => {
        for (let tries = 0; tries < 100; tries++) {
          const now = [0, 1].map((fd) => pipeSize(`/proc/${child.pid}/fd/${fd}`))
          if (now.every((size) => size === 1024 * 1024)) return now
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
        return [0, 1].map((fd) => pipeSize(`/proc/${child.pid}/fd/${fd}`))
      }
      expect(await sizes()).to.deep.equal([1024 * 1024, 1024 * 1024])
      // Still non-blocking for Node's event loop: perl did not inherit (and reset) them.
      const nonBlocking = [0, 1].map((fd) => (Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/${child.pid}/fdinfo/${fd}`, 'utf8'))![1], 8) & 0o4000) !== 0)
      expect(nonBlocking).to.deep.equal([true, true])
    } finally {
      child.kill('SIGKILL')
      for (const fd of [input, output]) fs.closeSync(fd)
    }
  })

  it('serves as before where perl is missing', () => {
    const session = path.join(dir, 'session')
    fs.writeFileSync(session, Buffer.concat([hello, bye]))
    // A pipe on stdin, and no perl on PATH: only absolute paths below.
    const script = `/bin/cat "$1" | exec "$2" "$3" serve --home "$4"`
    const r = spawnSync('/bin/sh', ['-c', script, 'sh', session, process.execPath, fvmBin, home], {env: {...process.env, PATH: '/nonexistent'}, encoding: 'latin1'})
    expect(r.status, r.stderr).to.equal(0)
    expect(r.stderr).to.equal('')
    expect(r.stdout).to.contain('"op":"hello"')
  })
})
