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

  it('gives oversized lengths buffers of their own, and small ones small buffers it reuses and never waits for', async () => {
    const pool = new BufferPool(1, 1 << 20)
    const big = await pool.take(2 << 20)
    expect(big.length).to.equal(2 << 20)
    const pooled = await pool.take(1 << 20)
    expect(pooled.length).to.equal(1 << 20)
    // The pool's one buffer is out: small lengths still get buffers, each its own while out.
    const smalls = await Promise.all([1000, 65536, (1 << 20) / 16].map((n) => pool.take(n)))
    expect(smalls.map((b) => b.length)).to.deep.equal([65536, 65536, 65536])
    expect(new Set(smalls.map((b) => b.buffer)).size).to.equal(3)
    pool.release(smalls[1].subarray(100, 200))
    const again = await pool.take(5000)
    expect(again.buffer).to.equal(smalls[1].buffer)
    // A small buffer given back is not a large one: the next large take still waits for the pooled one.
    let large: Buffer | undefined
    void pool.take((1 << 20) / 16 + 1).then((b) => {
      large = b
    })
    pool.release(smalls[0])
    await new Promise((resolve) => setImmediate(resolve))
    expect(large).to.equal(undefined)
    pool.release(pooled)
    await new Promise((resolve) => setImmediate(resolve))
    expect(large!.buffer).to.equal(pooled.buffer)
  })
})
