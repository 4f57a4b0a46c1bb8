// Turns the block-by-block delta of two thin devices into thin_delta's ranges. A range
// grows while the next block is of the same kind, follows on in the thin device and
// follows on in the data (on both sides for `different`), so every range describes its
// blocks exactly, as 0.9's --verbose output does; DeltaXmlWriter merges further where a
// tool generation does. One range is held at a time, so memory stays bounded.
import type {MappingDelta} from './thin-pool.js'
import type {DeltaRange} from './xml-delta.js'

export function* deltaRanges(deltas: Iterable<MappingDelta>): Generator<DeltaRange, void, undefined> {
  let cur: DeltaRange | undefined
  for (const {vblock, left, right} of deltas) {
    const next = rangeOf(vblock, left?.dataBlock, right?.dataBlock)
    if (cur !== undefined && continues(cur, next)) {
      cur.length++
      continue
    }
    if (cur !== undefined) yield cur
    cur = next
  }
  if (cur !== undefined) yield cur
}

function rangeOf(begin: number, left: number | undefined, right: number | undefined): DeltaRange {
  if (left === undefined) {
    if (right === undefined) throw new Error(`block ${begin} is in the delta but mapped by neither device`)
    return {kind: 'right_only', begin, length: 1, dataBegin: right}
  }
  if (right === undefined) return {kind: 'left_only', begin, length: 1, dataBegin: left}
  if (left === right) return {kind: 'same', begin, length: 1, dataBegin: left}
  return {kind: 'different', begin, length: 1, leftDataBegin: left, rightDataBegin: right}
}

/** Whether one-block range next extends cur: same kind, next thin block, next data block(s). */
function continues(cur: DeltaRange, next: DeltaRange): boolean {
  if (cur.kind !== next.kind || next.begin !== cur.begin + cur.length) return false
  if (cur.kind === 'different' && next.kind === 'different') {
    return next.leftDataBegin === cur.leftDataBegin + cur.length && next.rightDataBegin === cur.rightDataBegin + cur.length
  }
  return cur.kind !== 'different' && next.kind !== 'different' && next.dataBegin === cur.dataBegin + cur.length
}
