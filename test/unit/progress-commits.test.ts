// Where a receiver commits its progress (src/plumbing/replicate/receive.ts): about 16
// times a stream, 8 MiB to 256 MiB apart, and never just before the end.
import {expect} from 'chai'
import {progressCommitDue} from '../../src/plumbing/replicate/receive.js'

const MiB = 2 ** 20

/** The data bytes received at each progress commit of a stream of `records` records of `size` bytes. */
function commitsAt(records: number, size: number): number[] {
  const due = progressCommitDue(records * size)
  const at: number[] = []
  let since = 0
  for (let received = size; received <= records * size; received += size) {
    since += size
    if (due(since, received)) {
      at.push(received)
      since = 0
    }
  }
  return at
}

describe('progress commits of a received stream', () => {
  it('come 8 MiB apart in a small stream, with none where little is left to come', () => {
    // 1% of 4 GiB in 64 KiB blocks: 40.9 MiB. At 40 MiB less than 4 MiB is left.
    expect(commitsAt(655, 64 * 1024).map((b) => b / MiB)).to.deep.equal([8, 16, 24, 32])
    expect(commitsAt(128, MiB).map((b) => b / MiB)).to.deep.equal([8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120])
    expect(commitsAt(11, MiB)).to.deep.equal([])
    expect(commitsAt(13, MiB).map((b) => b / MiB)).to.deep.equal([8])
  })

  it('come a sixteenth of the stream apart, up to 256 MiB', () => {
    expect(commitsAt(1024, 4 * MiB).map((b) => b / MiB)).to.deep.equal(Array.from({length: 15}, (_, i) => (i + 1) * 256))
    expect(commitsAt(64, 128 * MiB)).to.have.length(31)
    expect(new Set(commitsAt(64, 128 * MiB).map((b, i, all) => b - (all[i - 1] ?? 0)))).to.deep.equal(new Set([256 * MiB]))
  })
})
