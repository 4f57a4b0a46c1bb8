import {expect} from 'chai'
import {randomBytes} from 'node:crypto'
import {nodeFileSystem} from '../../src/dm/pdata/file-io.js'
import {pageAlignedBuffer} from '../../src/dm/thin/volume-range.js'
import {scratchPoolFile} from '../support/scratch-file.js'

describe('pool file async reads and writes', () => {
  const file = scratchPoolFile('fvm-file-io-')

  it('reads what was last written, cached and unsynced or not, into aligned buffers (past the cache) and others', async () => {
    const expected = randomBytes(1 << 20)
    file().pwrite(expected, 0)
    file().fdatasync()
    // Newer bytes still only in the page cache: a read that skips the cache must see them all the same.
    const newer = randomBytes(3 * 4096 + 100)
    file().pwrite(newer, 5 * 4096)
    newer.copy(expected, 5 * 4096)
    for (const [at, length, aligned] of [
      [0, 1 << 20, true],
      [4096 * 4, 4096 * 8, true],
      [4096 * 4, 4096 * 8, false],
      [17, 100_000, false],
    ] as const) {
      const buf = aligned ? pageAlignedBuffer(length) : Buffer.alloc(length)
      expect(await file().preadAsync!(buf, at), `${length} bytes at ${at}`).to.equal(length)
      expect(buf.equals(expected.subarray(at, at + length)), `${length} bytes at ${at}`).to.equal(true)
    }
  })

  it('reads short at the end of the file', async () => {
    file().pwrite(Buffer.alloc(10_000, 7), 0)
    const buf = pageAlignedBuffer(16_384)
    expect(await file().preadAsync!(buf, 4096)).to.equal(10_000 - 4096)
    expect(buf.subarray(0, 10_000 - 4096).every((b) => b === 7)).to.equal(true)
  })

  it('reads through a read-only descriptor', async () => {
    file().pwrite(Buffer.alloc(8192, 9), 0)
    const readOnly = nodeFileSystem.open(file().path, 'r')
    try {
      const buf = pageAlignedBuffer(8192)
      expect(await readOnly.preadAsync!(buf, 0)).to.equal(8192)
      expect(buf.every((b) => b === 9)).to.equal(true)
    } finally {
      readOnly.close()
    }
  })

  it('does a small cached write at once, and a large one on the thread pool, each as given', async () => {
    const small = randomBytes(65536 + 100)
    const large = randomBytes(1 << 20)
    const pending = file().pwritevAsync!([small.subarray(0, 100), small.subarray(100)], 4096 + 1)
    // Written before the call returned: no thread pool round trip, no wait for the event loop.
    const now = Buffer.alloc(small.length)
    file().pread(now, 4096 + 1)
    expect(now.equals(small)).to.equal(true)
    await pending
    await file().pwritevAsync!([large], 1 << 20)
    const bytes = Buffer.alloc(large.length)
    file().pread(bytes, 1 << 20)
    expect(bytes.equals(large)).to.equal(true)
  })
})
