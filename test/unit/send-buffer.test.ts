// A long stream's socket to ssh gets a 4 MiB send buffer (src/plumbing/transport/send-buffer.ts),
// asked for by the real perl and read back with getsockopt; the socket stays non-blocking.
import {expect} from 'chai'
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import fs from 'node:fs'
import {PassThrough} from 'node:stream'
import {SEND_BUFFER_BYTES, enlargeSendBuffer} from '../../src/plumbing/transport/send-buffer.js'
import {needTools} from '../support/tools.js'

/** The send buffer of the socket behind descriptor FD of this process, as getsockopt reports it (the kernel doubles what was asked). */
function sendBuffer(fd: number): number {
  const program = 'use Socket; open(my $s, "+<&=", 3) or die "$!"; print unpack("i", getsockopt($s, SOL_SOCKET, SO_SNDBUF))'
  return Number(execFileSync('perl', ['-e', program], {stdio: ['ignore', 'pipe', 'inherit', fd], encoding: 'utf8'}))
}

function wmemMax(): number {
  return Number(fs.readFileSync('/proc/sys/net/core/wmem_max', 'utf8'))
}

describe('send buffer of the socket to ssh', function () {
  this.timeout(30_000)
  let child: ChildProcess | undefined

  before(function () {
    needTools(this, 'perl')
  })
  afterEach(() => child?.kill('SIGKILL'))

  it('asks for 4 MiB (root may take it whatever wmem_max says), leaving the socket non-blocking', async () => {
    child = spawn('sleep', ['30'], {stdio: 'pipe'})
    const fd = (child.stdin as unknown as {_handle: {fd: number}})._handle.fd
    const before = sendBuffer(fd)
    expect(before).to.be.below(2 * SEND_BUFFER_BYTES)
    enlargeSendBuffer(child.stdin!)
    const wanted = 2 * (process.getuid?.() === 0 ? SEND_BUFFER_BYTES : Math.min(SEND_BUFFER_BYTES, wmemMax()))
    let now = before
    for (let tries = 0; tries < 100 && now < wanted; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      now = sendBuffer(fd)
    }
    expect(now).to.equal(wanted)
    const flags = Number.parseInt(/^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1], 8)
    expect(flags & 0o4000, 'O_NONBLOCK').to.not.equal(0)
    // Still carries data.
    expect(child.stdin!.write('x')).to.equal(true)
  })

  it('leaves alone a stream with no descriptor', () => {
    expect(() => enlargeSendBuffer(new PassThrough())).to.not.throw()
  })
})
