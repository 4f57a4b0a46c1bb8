// Replication over the same loopback sshd (test/support/sshd.ts), side by side: a full
// push of a 4 GiB volume against `cat IMAGE | ssh HOST 'cat > /dev/null'` (the raw
// transport), and after 1% of its blocks change, an incremental push against `rsync
// --inplace --no-whole-file` of the raw image over the same ssh. fvm keeps its ssh
// connection open between runs (as it does for anyone, FVM_SSH_PERSIST), so the anchors
// run over an open connection too, one the suite holds (ssh -M); the incremental pair is
// measured once more with a new connection for every run on both sides, for reference.
// The receiver's peak memory is taken by running its fvm under /usr/bin/time
// (--remote-fvm), the sender's by the harness.
import {execFileSync} from 'node:child_process'
import {randomBytes, randomInt} from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {writeVolume} from '../../src/dm/thin/volume-io.js'
import {resolveDevice} from '../../src/plumbing/catalog/ops-lookups.js'
import {withInstance} from '../../src/plumbing/instance-open.js'
import {type TestSshd, sshCatCommand, sshdAvailable, startSshd} from '../../test/support/sshd.js'
import type {Benchmark} from '../harness.js'

const SIZE = 4 * 1024 ** 3
const BLOCK = 64 * 1024
const CHANGED = Math.round((SIZE / BLOCK) * 0.01)
const fvmBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/fvm.js')
const run = (argv: string[], env: NodeJS.ProcessEnv = {}): void => {
  execFileSync(argv[0], argv.slice(1), {stdio: ['ignore', 'ignore', 'inherit'], env: {...process.env, ...env}})
}
const fvm = (...args: string[]): string[] => [process.execPath, fvmBin, ...args]

export const PUSH_BENCHMARK_NAMES = [
  'push: full 4 GiB volume over ssh',
  'push: incremental, 1% of 4 GiB changed, over ssh',
  'push: incremental, 1% of 4 GiB changed, over ssh, new connection each run',
]

/** Why the suite cannot run here (it needs root for sshd), or undefined. */
export function pushUnavailable(): string | undefined {
  return sshdAvailable()
}

export async function pushBenchmarks(): Promise<Benchmark[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fvm-bench-push-'))
  const sshd: TestSshd = await startSshd()
  process.once('exit', () => {
    void sshd.stop()
    fs.rmSync(work, {recursive: true, force: true})
  })
  // The anchors' open connection: a master started now, which they join and never become.
  const anchorSocket = path.join(work, 'anchor-ssh')
  run([...sshd.sshArgv, '-o', 'ControlMaster=yes', '-o', `ControlPath=${anchorSocket}`, '-o', 'ControlPersist=yes', '-f', '-N', 'fvm-test'])
  const anchorSsh = {sshArgv: [...sshd.sshArgv, '-o', 'ControlMaster=no', '-o', `ControlPath=${anchorSocket}`]}
  const image = path.join(work, 'image')
  const alpha = path.join(work, 'alpha')
  const beta = path.join(work, 'beta')
  const rsyncCopy = path.join(work, 'rsync-copy')
  const receiverRss = path.join(work, 'receiver-rss')
  // The receiving fvm under /usr/bin/time, appending its peak RSS (KiB) per run.
  const timedFvm = path.join(work, 'fvm-timed')
  fs.writeFileSync(timedFvm, `#!/bin/sh\nexec /usr/bin/time -a -f %M -o ${receiverRss} fvm "$@"\n`, {mode: 0o755})
  const env = {FVM_SSH: sshd.sshCommand}
  const push = fvm('push', `fvm-test:${beta}`, 'mydata/trunk', '--home', alpha, '--remote-fvm', timedFvm)
  const pushCommand = ['sh', '-c', `FVM_SSH='${sshd.sshCommand}' exec ${push.map((a) => `'${a}'`).join(' ')}`]
  const coldPushCommand = ['sh', '-c', `FVM_SSH_PERSIST=0 FVM_SSH='${sshd.sshCommand}' exec ${push.map((a) => `'${a}'`).join(' ')}`]

  const freshReceiver = (): void => {
    fs.rmSync(beta, {recursive: true, force: true})
    run(fvm('init', '--home', beta, '--size', '6GiB', '--name', 'beta'))
    run(['sync'])
  }
  const setup = (): void => {
    if (fs.existsSync(alpha)) return
    run(['dd', 'if=/dev/urandom', `of=${image}`, 'bs=1M', `count=${SIZE / 2 ** 20}`, 'status=none'])
    run(fvm('init', '--home', alpha, '--size', '6GiB', '--name', 'alpha'))
    run(fvm('volume', 'create', 'mydata', '--size', String(SIZE), '--home', alpha))
    run(fvm('volume', 'import', 'mydata/trunk', image, '--home', alpha))
  }
  /** The same 1% of blocks, newly random, in the volume and in the raw image. */
  const changeOnePercent = (): void => {
    const offsets = Array.from({length: CHANGED}, () => randomInt(SIZE / BLOCK) * BLOCK)
    const fd = fs.openSync(image, 'r+')
    try {
      withInstance({home: alpha}, ({pool, catalog}) => {
        const {device} = resolveDevice(catalog.committed().value, 'mydata/trunk')
        offsets.forEach((offset, i) => {
          const bytes = randomBytes(BLOCK)
          writeVolume(pool, device, offset, bytes)
          fs.writeSync(fd, bytes, 0, BLOCK, offset)
          // Blocks a transaction frees are reused only after it commits: commit as a writer would.
          if (i % 64 === 63) pool.commit()
        })
        pool.commit()
      })
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    run(['sync'])
  }
  // --ignore-times: rsync's quick check (same size and time) must never skip the delta transfer being measured.
  const rsyncOver = (ssh: Pick<TestSshd, 'sshArgv'>): string[] => ['rsync', '--inplace', '--no-whole-file', '--ignore-times', '-e', ssh.sshArgv.join(' '), image, `fvm-test:${rsyncCopy}`]
  const rsync = rsyncOver(anchorSsh)
  const receiverPeak = (): void => {
    const peaks = fs.existsSync(receiverRss) ? fs.readFileSync(receiverRss, 'utf8').trim().split('\n').map(Number) : []
    process.stderr.write(`  receiving fvm peak RSS: ${Math.max(...peaks) / 1024} MiB over ${peaks.length} runs\n`)
    fs.rmSync(receiverRss, {force: true})
  }

  const full: Benchmark = {
    name: PUSH_BENCHMARK_NAMES[0],
    setup,
    subject: {label: 'fvm push (ssh)', argv: pushCommand, before: freshReceiver},
    anchor: sshCatCommand(anchorSsh, image),
    runs: 3,
    // fvm's throughput at least 70% of the raw ssh pipe's.
    maxRatio: 1 / 0.7,
    teardown: receiverPeak,
  }
  const incremental: Benchmark = {
    name: PUSH_BENCHMARK_NAMES[1],
    setup: () => {
      setup()
      freshReceiver()
      run(pushCommand, env)
      run(rsync)
    },
    subject: {label: 'fvm push (ssh)', argv: pushCommand, before: changeOnePercent},
    anchor: {label: 'rsync --inplace --no-whole-file -I', argv: rsync},
    // Under a second each on this noisy 2-core VM: more runs for a steadier median.
    runs: 5,
    // At least 5x faster than rsync.
    maxRatio: 0.2,
    teardown: receiverPeak,
  }
  const incrementalCold: Benchmark = {
    ...incremental,
    name: PUSH_BENCHMARK_NAMES[2],
    subject: {label: 'fvm push (ssh, FVM_SSH_PERSIST=0)', argv: coldPushCommand, before: changeOnePercent},
    anchor: {label: 'rsync --inplace --no-whole-file -I', argv: rsyncOver(sshd)},
    // For reference: what a first push pays, and rsync without an open connection.
    maxRatio: undefined,
  }
  return [full, incremental, incrementalCold]
}
