// Where two points of one volume differ, for the porcelain: byte extents from one walk
// over both mapping trees. The walk skips every subtree the two still share, so its cost
// follows what changed since they diverged, never the volume's size, and no data is
// read: the granularity is the pool's data block, and a block rewritten with the same
// bytes counts as changed.
import {deltaRanges} from '../../dm/thin/delta-ranges.js'
import type {DeltaRange} from '../../dm/thin/xml-delta.js'
import {FvmError} from '../../errors.js'
import {resolveDevice} from '../catalog/ops-lookups.js'
import {type InstanceContext, withInstance} from '../instance-open.js'
import {checkRef} from './entry.js'

/** added: mapped only in the second ref; removed: only in the first (reads as zeros now); changed: both, differently. */
export type DiffKind = 'added' | 'removed' | 'changed'

export interface DiffExtent {
  /** Bytes into the volume. */
  offset: number
  length: number
  kind: DiffKind
}

export interface DiffSide {
  ref: string
  device: number
}

export interface DiffResult {
  volume: string
  /** The volume's size in bytes; extents end inside it. */
  size: number
  /** The pool's data block size: the unit of change. */
  blockSize: number
  /** The before. */
  left: DiffSide
  /** The after. */
  right: DiffSide
  /** In offset order; neighbours of the same kind merged. */
  extents: DiffExtent[]
  count: number
  /** The extents' lengths added up. */
  changedBytes: number
}

const REF_KINDS = ['branch', 'remote-branch', 'tag'] as const

const KINDS: Record<Exclude<DeltaRange['kind'], 'same'>, DiffKind> = {right_only: 'added', left_only: 'removed', different: 'changed'}

/** What changed from branch, tag or remote branch `left` to `right`, of the same volume. */
export function diff(o: InstanceContext & {left: string; right: string}): DiffResult {
  checkRef(o.left, REF_KINDS)
  checkRef(o.right, REF_KINDS)
  return withInstance(o, ({pool, catalog}) => {
    const state = catalog.committed().value
    const left = resolveDevice(state, o.left)
    const right = resolveDevice(state, o.right)
    if (left.volume !== right.volume) {
      throw new FvmError('usage', `"${left.ref}" and "${right.ref}" are of different volumes ("${state.volumes[left.volume].name}" and "${state.volumes[right.volume].name}")`, {
        hint: 'diff compares two branches, tags or remote branches of one volume',
      })
    }
    const {name, size} = state.volumes[left.volume]
    const extents = [...byteExtents(deltaRanges(pool.delta(left.device, right.device, {includeSame: false})), pool.dataBlockSize, size)]
    return {
      volume: name,
      size,
      blockSize: pool.dataBlockSize,
      left: {ref: left.ref, device: left.device},
      right: {ref: right.ref, device: right.device},
      extents,
      count: extents.length,
      changedBytes: extents.reduce((sum, e) => sum + e.length, 0),
    }
  })
}

/** Block ranges as byte extents clipped to the volume's size, consecutive ones of one kind merged. */
function* byteExtents(ranges: Iterable<DeltaRange>, blockSize: number, size: number): Generator<DiffExtent, void, undefined> {
  let cur: DiffExtent | undefined
  for (const range of ranges) {
    // Ranges both map alike are only listed when asked for.
    if (range.kind === 'same') continue
    const offset = range.begin * blockSize
    if (offset >= size) break
    const length = Math.min(range.length * blockSize, size - offset)
    const kind = KINDS[range.kind]
    if (cur?.kind === kind && cur.offset + cur.length === offset) {
      cur.length += length
      continue
    }
    if (cur !== undefined) yield cur
    cur = {offset, length, kind}
  }
  if (cur !== undefined) yield cur
}
