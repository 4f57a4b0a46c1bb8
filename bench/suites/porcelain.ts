// The porcelain's costs that must not grow with what a volume holds or how many names
// the catalog has: `fvm tag` and `fvm branch` of a volume with 1,000,000 mapped blocks
// against the same of an empty volume in the same instance; listing the branches, and
// tab completion, with 100 volumes and 1,000 tags, in absolute time. (Start-up against
// `node -e 0` is the startup suite's.) The instances are built through the engine and
// the catalog directly, in seconds, rather than by writing 61 GiB or running 1,100
// commands.
import {execFileSync, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {listBranches} from '../../src/plumbing/catalog/ops-lookups.js'
import type {DmOp, Mutation} from '../../src/plumbing/catalog/ops-shared.js'
import {createTag} from '../../src/plumbing/catalog/ops-tags.js'
import {createVolume} from '../../src/plumbing/catalog/ops-volumes.js'
import {withInstance} from '../../src/plumbing/instance-open.js'
import {mutate} from '../../src/plumbing/transaction.js'
import type {Benchmark} from '../harness.js'

const MAPPED = 1_000_000
const VOLUMES = 100
const TAGS = 1_000
const fvmBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/fvm.js')
const fvm = (...args: string[]): string[] => [process.execPath, fvmBin, ...args]
const run = (argv: string[]): void => {
  execFileSync(argv[0], argv.slice(1), {stdio: ['ignore', 'ignore', 'inherit']})
}
/** Removes what the measured command made, if the last run made it; unmeasured. */
const undo = (...args: string[]) => (): void => {
  spawnSync(process.execPath, [fvmBin, ...args, '--yes'], {stdio: 'ignore'})
}
const node = {label: 'node -e 0', argv: [process.execPath, '-e', '0']}

/** Maps MAPPED blocks of `volume`'s trunk, as if written: its device is remade by bulk load. */
function fillTrunk(home: string, volume: string): void {
  withInstance({home}, ({pool, catalog}) => {
    const {device} = listBranches(catalog.committed().value, volume)[0]
    const {transactionId, creationTime, snapshottedTime} = pool.details(device)
    pool.delete(device)
    pool.restoreDevice(device, {transactionId, creationTime, snapshottedTime}, (function* () {
      for (let v = 0; v < MAPPED; v++) yield {vblock: v, dataBlock: v, time: creationTime}
    })())
    pool.commit()
  })
}

/** VOLUMES volumes with TAGS tags between them, in one transaction. */
function addVolumesAndTags(home: string): void {
  mutate({home}, (state, context) => {
    const plan: DmOp[] = []
    const apply = <R>(m: Mutation<R>): void => {
      state = m.state
      plan.push(...m.plan)
    }
    for (let v = 0; v < VOLUMES; v++) {
      apply(createVolume(state, {name: `vol${v}`, size: 2 ** 30}, context))
      for (let t = 0; t < TAGS / VOLUMES; t++) apply(createTag(state, {tag: `t${t}@vol${v}`}, context))
    }
    return {state, plan, result: undefined}
  })
}

export function porcelainBenchmarks(): Benchmark[] {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fvm-bench-porcelain-'))
  const big = path.join(work, 'big')
  const many = path.join(work, 'many')
  process.once('exit', () => fs.rmSync(work, {recursive: true, force: true}))

  const bigInstance = (): void => {
    if (fs.existsSync(big)) return
    // 72 GiB of 64 KiB blocks: room for the 1,000,000 blocks (the data file is sparse).
    run(fvm('init', '--home', big, '--size', '72GiB'))
    for (const name of ['big', 'small']) run(fvm('volume', 'create', name, '--size', '64GiB', '--home', big))
    fillTrunk(big, 'big')
  }
  const manyInstance = (): void => {
    if (fs.existsSync(many)) return
    run(fvm('init', '--home', many))
    addVolumesAndTags(many)
  }

  const tag: Benchmark = {
    name: 'porcelain: fvm tag of 1,000,000 mapped blocks vs of an empty volume',
    subject: {label: 'fvm tag t@big', argv: fvm('tag', 't@big', '--home', big), before: undo('tag', 'rm', 't@big', '--home', big)},
    anchor: {label: 'fvm tag t@small', argv: fvm('tag', 't@small', '--home', big), before: undo('tag', 'rm', 't@small', '--home', big)},
    runs: 10,
    maxRatio: 1.5,
    setup: bigInstance,
  }

  const branch: Benchmark = {
    name: 'porcelain: fvm branch of 1,000,000 mapped blocks vs of an empty volume',
    subject: {label: 'fvm branch big/b', argv: fvm('branch', 'big/b', '--home', big), before: undo('branch', 'rm', 'big/b', '--home', big)},
    anchor: {label: 'fvm branch small/b', argv: fvm('branch', 'small/b', '--home', big), before: undo('branch', 'rm', 'small/b', '--home', big)},
    runs: 10,
    maxRatio: 1.5,
    setup: bigInstance,
  }

  const list: Benchmark = {
    name: 'porcelain: fvm branch (list) with 100 volumes and 1,000 tags',
    subject: {label: 'fvm branch', argv: fvm('branch', '--home', many)},
    anchor: node,
    runs: 10,
    maxMedianSeconds: 1,
    setup: manyInstance,
  }

  const complete: Benchmark = {
    name: 'porcelain: tab completion with 100 volumes and 1,000 tags',
    subject: {label: 'fvm __complete', argv: fvm('__complete', '--home', many, '--', 'tag', 'rm', 't1@vol1')},
    anchor: node,
    runs: 10,
    maxMedianSeconds: 0.5,
    setup: manyInstance,
  }

  return [tag, branch, list, complete]
}
