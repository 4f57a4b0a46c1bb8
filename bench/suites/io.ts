// Volume I/O against dd on the same disk: 2 GiB written sequentially into a thin device
// (committed, so fdatasynced) vs dd writing a plain file with conv=fdatasync, and read
// back out to a file vs dd copying the plain file to another file.
//
// Same cache and memory state for both sides: the 2 GiB source (and, for the read, the
// pool's data file and the plain file) stay warm in the page cache; right before every
// run the output of the run before it, whichever side made it, is deleted and `sync`
// empties the dirty pages, so neither side pays for the other's writeback. Dropping the
// caches instead would time the disk's reads, the same for both, and hide fvm's own
// cost. The delete comes last (fvm's fresh pool is formatted beside the old one, then
// swapped in) and is of the latest output for both: a virtual machine hands freed
// memory back to its host after a moment, and page cache built in memory the host must
// fault back in is written several times slower, so how recently the freed memory was
// used decides the speed of the next write as much as the writer does.
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import type {Benchmark} from '../harness.js'

const SIZE = 2 * 1024 ** 3
const BLOCK = 64 * 1024
const fvmBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/fvm.js')
const fvm = (...args: string[]): string[] => [process.execPath, fvmBin, 'plumbing', ...args]
const run = (argv: string[]): void => {
  execFileSync(argv[0], argv.slice(1), {stdio: ['ignore', 'ignore', 'inherit']})
}
/** A shell command line of argv, for redirections. */
const shell = (argv: string[]): string => argv.map((a) => `'${a.replaceAll('\'', '\'\\\'\'')}'`).join(' ')

export function ioBenchmarks(): Benchmark[] {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fvm-bench-io-'))
  const source = path.join(work, 'source')
  const pool = path.join(work, 'pool')
  const plain = path.join(work, 'plain')
  const out = path.join(work, 'out')
  process.once('exit', () => fs.rmSync(work, {recursive: true, force: true}))

  const clean = (...files: string[]) => (): void => {
    for (const f of files) fs.rmSync(f, {recursive: true, force: true})
    run(['sync'])
  }
  const makeSource = (): void => {
    if (!fs.existsSync(source)) run(['dd', 'if=/dev/urandom', `of=${source}`, 'bs=1M', `count=${SIZE / 2 ** 20}`, 'status=none'])
  }
  let generation = 0
  const pools = (): string[] => fs.readdirSync(work).filter((f) => f.startsWith('pool.')).map((f) => path.join(work, f))
  /** `pool` becomes a link to a new pool with an empty device 1; then every older output goes. */
  const freshPool = (): void => {
    const next = `${pool}.${++generation}`
    // Room for the volume and a quarter more, so the allocator is not at the pool's end.
    run(fvm('pool', 'format', '--pool', next, '--data-blocks', String((SIZE / BLOCK) * 1.25), '--block-size', String(BLOCK)))
    run(fvm('thin', 'create', '--pool', next, '1'))
    fs.symlinkSync(next, `${pool}.link`)
    fs.renameSync(`${pool}.link`, pool)
    clean(plain, ...pools().filter((p) => p !== next))()
  }
  const writeVolume = fvm('thin', 'write', '--pool', pool, '1')

  const write: Benchmark = {
    name: 'io: write 2 GiB sequentially into a thin device',
    subject: {label: 'fvm plumbing thin write', argv: ['sh', '-c', `exec ${shell(writeVolume)} < ${shell([source])} > /dev/null`],
      before: freshPool},
    anchor: {label: 'dd bs=1M conv=fdatasync', argv: ['dd', `if=${source}`, `of=${plain}`, 'bs=1M', 'conv=fdatasync', 'status=none'],
      before: () => clean(plain, pool, ...pools())()},
    runs: 9,
    // fvm's throughput at least 70% of dd's.
    maxRatio: 1 / 0.7,
    setup: makeSource,
  }

  const read: Benchmark = {
    name: 'io: read 2 GiB of a thin device out to a file',
    subject: {label: 'fvm plumbing thin read', argv: ['sh', '-c', `exec ${shell(fvm('thin', 'read', '--pool', pool, '1', '--length', String(SIZE)))} > ${shell([out])}`],
      before: clean(out)},
    anchor: {label: 'dd bs=1M (file to file)', argv: ['dd', `if=${plain}`, `of=${out}`, 'bs=1M', 'status=none'], before: clean(out)},
    runs: 9,
    // fvm's throughput at least 50% of dd's.
    maxRatio: 2,
    setup: () => {
      makeSource()
      if (!fs.existsSync(path.join(pool, 'metadata'))) {
        freshPool()
        run(['sh', '-c', `${shell(writeVolume)} < ${shell([source])} > /dev/null`])
      }
      if (!fs.existsSync(plain)) run(['dd', `if=${source}`, `of=${plain}`, 'bs=1M', 'status=none'])
    },
  }

  return [write, read]
}
