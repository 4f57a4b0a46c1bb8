// Shared by the catalog model tests: a deterministic clock and uuid source, a fresh
// state, an assertion for expected FvmErrors, and a stream received in one step.
import {expect} from 'chai'
import {FvmError} from '../../src/errors.js'
import {type CatalogState, catalogProblems, newCatalogState} from '../../src/plumbing/catalog/model.js'
import {type FinishReceiveResult, type ReceiveRequest, beginReceive, finishReceive} from '../../src/plumbing/catalog/ops-receive.js'
import type {Mutation, OpContext} from '../../src/plumbing/catalog/ops-shared.js'

export const INSTANCE = {uuid: '11111111-1111-4111-8111-111111111111', name: 'alpha'}
export const GiB = 2 ** 30

/** Uuids count up from 1; the clock stands still until `tick()`. */
export class TestContext implements OpContext {
  private uuids = 0
  private seconds = 0

  get now(): string {
    return new Date(Date.UTC(2024, 0, 1) + this.seconds * 1000).toISOString()
  }

  newUuid(): string {
    this.uuids++
    return `00000000-0000-4000-8000-${this.uuids.toString(16).padStart(12, '0')}`
  }

  tick(): this {
    this.seconds++
    return this
  }
}

export function emptyState(options: {deviceIds?: {first: number; last: number}; quota?: number | null} = {}): CatalogState {
  return newCatalogState({instance: INSTANCE, ...options})
}

/** The new state of a mutation, after checking it keeps every invariant. */
export function stateOf<R>(mutation: Mutation<R>): CatalogState {
  expect(catalogProblems(mutation.state)).to.deep.equal([])
  return mutation.state
}

export function expectFvmError(fn: () => unknown, kind: FvmError['kind'], message: RegExp | string): FvmError {
  try {
    fn()
  } catch (err) {
    expect(err).to.be.instanceOf(FvmError)
    const e = err as FvmError
    expect(e.kind, e.message).to.equal(kind)
    if (typeof message === 'string') expect(e.message).to.equal(message)
    else expect(e.message).to.match(message)
    return e
  }
  return expect.fail(`expected a ${kind} error matching ${String(message)}`)
}

/** Freezes a value and everything in it, so a test can prove an operation never writes its input. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

/** A whole stream received in one go: begin (its staged device), then finish (published). */
export function receiveWhole(
  state: CatalogState,
  request: Omit<ReceiveRequest, 'force'> & {force?: boolean},
  ctx: OpContext,
): Mutation<FinishReceiveResult> {
  const begun = beginReceive(state, {force: false, ...request}, ctx)
  const done = finishReceive(begun.state, {snapshot: request.snapshot.uuid}, ctx)
  return {state: done.state, plan: [...begun.plan, ...done.plan], result: done.result}
}
