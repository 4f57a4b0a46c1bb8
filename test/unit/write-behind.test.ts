import {expect} from 'chai'
import type {PoolFile} from '../../src/dm/pdata/file-io.js'
import {WriteBehind} from '../../src/dm/pdata/write-behind.js'
import {pageAlignedBuffer} from '../../src/dm/thin/volume-range.js'
import {scratchPoolFile} from '../support/scratch-file.js'

describe('write-behind', () => {
  const file = scratchPoolFile('fvm-write-behind-')

  it('lands overlapping writes in the order they were queued', async () => {
    const sink = WriteBehind.for(file(), 1 << 30)!
    for (let i = 0; i < 200; i++) sink.write(Buffer.alloc(65536 - i * 100, i), i * 50)
    await sink.drain()
    const bytes = Buffer.alloc(65536 + 200 * 50)
    file().pread(bytes, 0)
    // Each byte holds the last write that covered it.
    for (let at = 0; at < 65536; at += 97) {
      let last = -1
      for (let i = 0; i < 200; i++) if (at >= i * 50 && at < i * 50 + 65536 - i * 100) last = i
      expect(bytes[at], `byte ${at}`).to.equal(last)
    }
  })

  it('mixes page-aligned writes (past the page cache) and cached ones, each byte as last written', async () => {
    const sink = WriteBehind.for(file(), 1 << 30)!
    const expected = Buffer.alloc(1 << 20)
    const put = (bytes: Buffer, at: number): void => {
      sink.write(bytes, at)
      bytes.copy(expected, at)
    }
    const aligned = (length: number, value: number): Buffer => pageAlignedBuffer(length).fill(value)
    put(aligned(1 << 20, 1), 0)
    put(Buffer.alloc(5000, 2), 4096 * 3 + 7)
    put(aligned(8192, 3), 4096 * 3)
    put(aligned(4096 * 3, 4).subarray(4096, 4096 * 3), 4096 * 10)
    put(aligned(4096, 5).subarray(1), 4096 * 20)
    await sink.drain()
    file().fdatasync()
    const bytes = Buffer.alloc(1 << 20)
    file().pread(bytes, 0)
    expect(bytes.equals(expected)).to.equal(true)
  })

  it('waits for room, and says when the writes queued so far are done', async () => {
    const sink = WriteBehind.for(file(), 1 << 20)!
    const chunk = Buffer.alloc(1 << 19, 1)
    sink.write(chunk, 0)
    sink.write(chunk, 1 << 19)
    sink.write(chunk, 1 << 20)
    let settled = false
    const done = sink.settled().then(() => {
      settled = true
    })
    expect(settled).to.equal(false)
    await sink.room()
    await done
    expect(settled).to.equal(true)
    expect(file().size()).to.equal(3 << 19)
  })

  it('sends writes queued end to end as one vectored write, in order with the rest', async () => {
    const calls: {position: number; lengths: number[]}[] = []
    const counting = {
      pwritevAsync: async (buffers: Buffer[], position: number): Promise<void> => {
        calls.push({position, lengths: buffers.map((b) => b.length)})
        await file().pwritevAsync!(buffers, position)
      },
      fdatasyncAsync: async () => {},
    }
    const sink = new WriteBehind(counting, 1 << 30)
    const expected = Buffer.alloc(1 << 20)
    const put = (length: number, at: number, value: number): void => {
      const bytes = pageAlignedBuffer(length).fill(value)
      sink.write(bytes, at)
      bytes.copy(expected, at)
    }
    // The first goes out alone (nothing waits behind it yet); the next three run on end to end, then a gap, then an overlap.
    put(65536, 0, 1)
    put(65536, 65536, 2)
    put(65536, 131072, 3)
    put(4096, 196608, 4)
    put(65536, 524288, 5)
    put(8192, 200704 - 8192, 6)
    await sink.drain()
    expect(calls).to.deep.equal([
      {position: 0, lengths: [65536]},
      {position: 65536, lengths: [65536, 65536, 4096]},
      {position: 524288, lengths: [65536]},
      {position: 192512, lengths: [8192]},
    ])
    const bytes = Buffer.alloc(1 << 20)
    file().pread(bytes, 0)
    expect(bytes.equals(expected)).to.equal(true)
  })

  it('raises a failed write at the next call, and writes nothing more', async () => {
    let writes = 0
    const failing = {
      pwritevAsync: async () => {
        writes++
        throw Object.assign(new Error('no space left on device'), {code: 'ENOSPC'})
      },
      fdatasyncAsync: async () => {},
    }
    const sink = new WriteBehind(failing, 1 << 20)
    sink.write(Buffer.alloc(10), 0)
    sink.write(Buffer.alloc(10), 10)
    await sink.settled()
    expect(writes).to.equal(1)
    expect(() => sink.write(Buffer.alloc(10), 20)).to.throw(/no space left/)
    let error: unknown
    await sink.drain().catch((e: unknown) => {
      error = e
    })
    expect((error as NodeJS.ErrnoException).code).to.equal('ENOSPC')
  })

  it('counts the bytes for its background sync from the last drain, whose commit syncs those before', async () => {
    let syncs = 0
    const counting = {
      pwritevAsync: async (buffers: Buffer[], position: number): Promise<void> => file().pwritevAsync!(buffers, position),
      fdatasyncAsync: async () => {
        syncs++
      },
    }
    const sink = new WriteBehind(counting, 1 << 30)
    const chunk = Buffer.alloc(1 << 20, 1)
    const writeMiB = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) sink.write(chunk, i << 20)
      await sink.settled()
    }
    // 12 MiB, a drain (a commit), 12 MiB more: never 16 MiB since a sync.
    await writeMiB(12)
    await sink.drain()
    await writeMiB(12)
    expect(syncs).to.equal(0)
    await writeMiB(12)
    expect(syncs).to.equal(1)
    await sink.drain()
  })

  it('is not offered for a file without async calls', () => {
    const syncOnly: PoolFile = Object.assign(Object.create(file()) as PoolFile, {pwritevAsync: undefined})
    expect(WriteBehind.for(syncOnly, 1 << 20)).to.equal(undefined)
  })
})
