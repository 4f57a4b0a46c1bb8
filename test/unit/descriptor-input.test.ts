import {spawn} from 'node:child_process'
import {randomBytes, randomInt} from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {once} from 'node:events'
import {expect} from 'chai'
import {DescriptorInput} from '../../src/plumbing/transport/descriptor-input.js'

describe('DescriptorInput', () => {
  let dir: string
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fvm-fd-input-'))
  })
  afterEach(() => fs.rmSync(dir, {recursive: true, force: true}))

  /** A FIFO that `cat FILE` fills, and our non-blocking read end of it. */
  async function fifoFrom(bytes: Buffer): Promise<number> {
    const file = path.join(dir, 'data')
    const fifo = path.join(dir, 'fifo')
    fs.writeFileSync(file, bytes)
    await run('mkfifo', [fifo])
    const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
    spawn('sh', ['-c', `cat "${file}" > "${fifo}"`], {stdio: 'ignore'})
    return fd
  }

  it('delivers every byte in order, each chunk intact after later reads', async () => {
    const bytes = randomBytes(9 * 1024 * 1024 + 12345)
    const input = new DescriptorInput(await fifoFrom(bytes))
    const chunks: Buffer[] = []
    for await (const chunk of input) chunks.push(chunk)
    // Kept to the end: a slab reused under an earlier chunk would show here.
    expect(Buffer.concat(chunks).equals(bytes)).to.equal(true)
    expect((await input.next()).done).to.equal(true)
  })

  it('keeps order and content for a reader slower than the writer', async () => {
    const bytes = randomBytes(3 * 1024 * 1024)
    const input = new DescriptorInput(await fifoFrom(bytes))
    const chunks: Buffer[] = []
    for await (const chunk of input) {
      chunks.push(chunk)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    expect(Buffer.concat(chunks).equals(bytes)).to.equal(true)
  })

  it('reads into a target straight, mixed with chunks, in order, to the end', async () => {
    const bytes = randomBytes(12 * 1024 * 1024 + 777)
    const input = new DescriptorInput(await fifoFrom(bytes))
    const parts: Buffer[] = []
    for (let round = 0; ; round++) {
      // As a frame reader does: a chunk (a head and the start of a payload), then the rest of the payload.
      const step = await input.next()
      if (step.done) break
      parts.push(step.value)
      const target = Buffer.alloc(randomInt(1, 3 * 1024 * 1024))
      const filled = await input.readInto(target)
      parts.push(target.subarray(0, filled))
      if (filled < target.length) {
        expect(await input.readInto(Buffer.alloc(10)), 'after a short fill: the end').to.equal(0)
        break
      }
      if (round % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
    }
    expect(Buffer.concat(parts).equals(bytes)).to.equal(true)
  })

  it('ends at once for an empty input, and stops reading when destroyed', async () => {
    const empty = new DescriptorInput(await fifoFrom(Buffer.alloc(0)))
    expect((await empty.next()).done).to.equal(true)
    fs.rmSync(path.join(dir, 'fifo'))
    const input = new DescriptorInput(await fifoFrom(randomBytes(4 * 1024 * 1024)))
    expect((await input.next()).done).to.equal(false)
    input.destroy()
  })
})

async function run(command: string, args: string[]): Promise<void> {
  const child = spawn(command, args, {stdio: 'inherit'})
  const [code] = await once(child, 'exit')
  if (code !== 0) throw new Error(`${command} exited with ${code}`)
}
