// Where two thin devices differ, as thin_delta reports it: merged ranges streamed from
// one walk over both mapping trees, for JSON, or written as thin_delta's XML.
//
// thin_delta also lists the ranges both devices map alike, and those live in the
// subtrees the two still share: finding them means reading both trees whole. So they
// are only reported when asked for (and always in XML); without them the walk skips
// every shared subtree and its cost follows what changed since the devices diverged.
import {deltaRanges} from '../dm/thin/delta-ranges.js'
import {ThinPool} from '../dm/thin/thin-pool.js'
import {type DeltaRange, type DeltaXmlOptions, DeltaXmlWriter} from '../dm/thin/xml-delta.js'
import {superblockIr} from '../dm/thin/xml-dump.js'
import type {TextSink} from '../dm/thin/xml-emit.js'
import {lockExistingPool, type PoolOptions} from './pool.js'

export interface DeltaOptions extends PoolOptions {
  /** thin_delta's --snap1. */
  left: number
  /** thin_delta's --snap2. */
  right: number
  /** Also report the `same` ranges: reads both devices whole. */
  same?: boolean
}

export interface ThinDelta {
  left: number
  right: number
  /** Bytes per data block. */
  blockSize: number
  /** In vblock order, read as iterated (bounded memory); the pool closes (and unlocks) when the walk ends. */
  ranges: Generator<DeltaRange, void, undefined>
}

interface OpenPool {
  pool: ThinPool
  /** Closes the pool and releases its lock. */
  close: () => void
}

/**
 * Opens the pool read-only under its lock (as thin_delta, even one that needs a check)
 * and makes sure both devices exist.
 */
function openBoth(o: DeltaOptions): OpenPool {
  const release = lockExistingPool(o)
  let pool: ThinPool | undefined
  try {
    pool = ThinPool.open(o.pool, {fs: o.fs, readOnly: true, allowNeedsCheck: true})
    pool.details(o.left)
    pool.details(o.right)
  } catch (error) {
    pool?.close()
    release()
    throw error
  }
  const open = pool
  return {
    pool: open,
    close: () => {
      try {
        open.close()
      } finally {
        release()
      }
    },
  }
}

/** The delta of device left (before) against device right (after), streamed. */
export function thinDelta(o: DeltaOptions): ThinDelta {
  const {pool, close} = openBoth(o)
  function* walk(): Generator<DeltaRange, void, undefined> {
    try {
      yield* deltaRanges(pool.delta(o.left, o.right, {includeSame: o.same ?? false}))
    } finally {
      close()
    }
  }
  return {left: o.left, right: o.right, blockSize: pool.dataBlockSize, ranges: walk()}
}

/** Writes what `thin_delta --snap1 LEFT --snap2 RIGHT` (of that generation, --verbose or not) prints. */
export function thinDeltaXml(o: Omit<DeltaOptions, 'same'> & DeltaXmlOptions, sink: TextSink): void {
  const {pool, close} = openBoth(o)
  try {
    const writer = new DeltaXmlWriter(sink, {generation: o.generation, verbose: o.verbose})
    writer.begin(superblockIr(pool), o.left, o.right)
    for (const range of deltaRanges(pool.delta(o.left, o.right, {includeSame: true}))) writer.range(range)
    writer.end()
  } finally {
    close()
  }
}
