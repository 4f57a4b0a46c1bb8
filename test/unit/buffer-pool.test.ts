import {expect} from 'chai'
import {BufferPool} from '../../src/plumbing/stream/buffer-pool.js'

describe('buffer pool', () => {
  it('hands out at most its count, and a released buffer to whoever waits', async () => {
    const pool = new BufferPool(2, 1 << 20)
    const a = await pool.take(1 << 20)
    const b = await pool.take(1 << 19)
    let third: Buffer | undefined
    const waiting = pool.take(1 << 20).then((c) => {
      third = c
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(third).to.equal(undefined)
    pool.release(a.subarray(0, 10))
    await waiting
    expect(third!.buffer).to.equal(a.buffer)
    expect(b.buffer).to.not.equal(a.buffer)
  })

  it('ignores a second release and buffers it did not hand out', async () => {
    const pool = new BufferPool(1, 1 << 20)
    const a = await pool.take(1 << 20)
    pool.release(a)
    pool.release(a)
    pool.release(Buffer.alloc(1 << 20))
    const first = await pool.take(1 << 20)
    let second: Buffer | undefined
    void pool.take(1 << 20).then((b) => {
      second = b
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(first.buffer).to.equal(a.buffer)
    expect(second).to.equal(undefined)
  })

  it('gives small and oversized lengths buffers of their own', async () => {
    const pool = new BufferPool(1, 1 << 20)
    const small = await pool.take(1000)
    const big = await pool.take(2 << 20)
    expect(small.length).to.equal(1000)
    expect(big.length).to.equal(2 << 20)
    const pooled = await pool.take(1 << 20)
    expect(pooled.length).to.equal(1 << 20)
  })
})
