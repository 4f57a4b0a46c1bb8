// One catalog history shared by the crash tests and their child process: the value of
// each transaction, the state just before each step, the step itself, and what the
// store must read and reconcile to on either side of it.
import {
  type CatalogFailpointName,
  type CatalogRecord,
  CatalogStore,
  type CatalogStoreOptions,
} from '../../src/plumbing/catalog/store.js'
import type {ReconcileOutcome} from '../../src/plumbing/catalog/reconcile.js'

export const STEPS = ['create', 'prepare', 'commit', 'abort'] as const
export type Step = (typeof STEPS)[number]

/** The committed transaction before every step; a step prepares or commits N + 1. */
export const N = 7

export const STEP_FAILPOINTS: Record<Step, readonly CatalogFailpointName[]> = {
  create: ['catalog.afterRecordWrite', 'catalog.afterHeaderWrite', 'catalog.afterHeaderSync', 'catalog.afterRename'],
  prepare: ['catalog.afterRecordWrite', 'catalog.afterRecordSync', 'catalog.afterHeaderWrite', 'catalog.afterHeaderSync'],
  commit: ['catalog.afterHeaderWrite', 'catalog.afterHeaderSync'],
  abort: ['catalog.afterHeaderWrite', 'catalog.afterHeaderSync'],
}

export interface Sample {
  txid: number
  volumes: {name: string; note: string}[]
}

/** Sizes differ so records move around the file and leave dead space behind. */
const KIB_BY_TXID: Record<number, number> = {5: 40, 6: 120, 7: 20, 8: 30}

/** The catalog value of transaction `txid`, with multi-byte characters so bytes != chars. */
export function valueOf(txid: number): Sample {
  const count = KIB_BY_TXID[txid] ?? 4
  const volumes = Array.from({length: count}, (_, i) => ({
    name: `vol-${txid}-${i}`,
    note: `é✓ ${'x'.repeat(990)}`,
  }))
  return {txid, volumes}
}

/** Leaves the catalog at `file` as it is just before `step` (nothing, for create). */
export function setUpBefore(file: string, step: Step, options: CatalogStoreOptions = {}): void {
  if (step === 'create') return
  const store = CatalogStore.create(file, valueOf(N - 2), N - 2, options)
  try {
    for (const txid of [N - 1, N]) {
      store.prepare(txid, valueOf(txid))
      store.commit()
    }
    if (step !== 'prepare') store.prepare(N + 1, valueOf(N + 1))
  } finally {
    store.close()
  }
}

/** Runs a step other than create on an open store. */
export function applyStep(store: CatalogStore<Sample>, step: Exclude<Step, 'create'>): void {
  if (step === 'prepare') store.prepare(N + 1, valueOf(N + 1))
  else if (step === 'commit') store.commit()
  else store.abort()
}

export function runStep(file: string, step: Step, options: CatalogStoreOptions = {}): void {
  if (step === 'create') {
    CatalogStore.create(file, valueOf(N), N, options).close()
    return
  }
  const store = CatalogStore.open<Sample>(file, options)
  try {
    applyStep(store, step)
  } finally {
    store.close()
  }
}

export interface Snapshot {
  committed: CatalogRecord<Sample>
  prepared?: CatalogRecord<Sample>
}

const record = (txid: number): CatalogRecord<Sample> => ({txid, value: valueOf(txid)})
const atN: Snapshot = {committed: record(N)}
const preparedN1: Snapshot = {committed: record(N), prepared: record(N + 1)}
const atN1: Snapshot = {committed: record(N + 1)}

/** What the store reads before and after each step; `undefined`: no catalog file. */
export const SIDES: Record<Step, {before: Snapshot | undefined; after: Snapshot}> = {
  create: {before: undefined, after: atN},
  prepare: {before: atN, after: preparedN1},
  commit: {before: preparedN1, after: atN1},
  abort: {before: preparedN1, after: atN},
}

export type Side = 'before' | 'after'

/**
 * What reconcile must do from each side of each step, for a pool at N and at N + 1.
 * 'corrupt' marks states the protocol never pairs with that pool id.
 */
export const RECONCILE: Record<Step, Record<Side, Record<number, ReconcileOutcome | 'corrupt'>>> = {
  create: {before: {}, after: {[N]: 'clean', [N + 1]: 'corrupt'}},
  prepare: {before: {[N]: 'clean', [N + 1]: 'corrupt'}, after: {[N]: 'aborted', [N + 1]: 'rolledForward'}},
  commit: {before: {[N]: 'aborted', [N + 1]: 'rolledForward'}, after: {[N]: 'corrupt', [N + 1]: 'clean'}},
  abort: {before: {[N]: 'aborted', [N + 1]: 'rolledForward'}, after: {[N]: 'clean', [N + 1]: 'corrupt'}},
}
