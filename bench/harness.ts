// The benchmark harness: runs fvm and its anchor (a public tool doing the same work)
// alternately, several times, in one process tree and cache state, and reports medians,
// min-max, the ratio and peak memory. Figures come from here, never from timed tests.
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface Command {
  label: string
  argv: string[]
  /** Runs before each measured run of this command, unmeasured (e.g. reset state). */
  before?: () => void
}

export interface Benchmark {
  name: string
  subject: Command
  anchor: Command
  runs: number
  /** The target, stated as the highest acceptable subject/anchor ratio of medians. */
  maxRatio?: number
  /** A target stated in absolute terms: the highest acceptable subject median. */
  maxMedianSeconds?: number
  setup?: () => void
  teardown?: () => void
}

export interface Measure {
  label: string
  medianSeconds: number
  minSeconds: number
  maxSeconds: number
  peakRssKiB: number
}

export interface BenchResult {
  name: string
  runs: number
  subject: Measure
  anchor: Measure
  /** subject median / anchor median. */
  ratio: number
  maxRatio?: number
  maxMedianSeconds?: number
  withinTarget?: boolean
}

const TIME = '/usr/bin/time'

function runOnce(cmd: Command): {seconds: number, rssKiB: number} {
  cmd.before?.()
  const report = path.join(os.tmpdir(), `fvm-bench-${process.pid}.time`)
  const started = process.hrtime.bigint()
  const r = spawnSync(TIME, ['-f', '%M', '-o', report, ...cmd.argv], {stdio: ['ignore', 'ignore', 'pipe']})
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  if (r.status !== 0) {
    throw new Error(`benchmark command failed (${r.status}): ${cmd.argv.join(' ')}\n${r.stderr.toString()}`)
  }
  const rssKiB = Number(fs.readFileSync(report, 'utf8').trim().split('\n').pop())
  fs.rmSync(report, {force: true})
  return {seconds, rssKiB}
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

function summarize(label: string, samples: {seconds: number, rssKiB: number}[]): Measure {
  const seconds = samples.map((s) => s.seconds)
  return {
    label,
    medianSeconds: median(seconds),
    minSeconds: Math.min(...seconds),
    maxSeconds: Math.max(...seconds),
    peakRssKiB: Math.max(...samples.map((s) => s.rssKiB)),
  }
}

export function runBenchmark(b: Benchmark): BenchResult {
  if (!fs.existsSync(TIME)) throw new Error(`${TIME} is missing: run scripts/install-system-tools.sh (package "time")`)
  b.setup?.()
  try {
    // One warm-up of each, then alternate so both see the same cache and load.
    runOnce(b.subject)
    runOnce(b.anchor)
    const subject: {seconds: number, rssKiB: number}[] = []
    const anchor: {seconds: number, rssKiB: number}[] = []
    for (let i = 0; i < b.runs; i++) {
      subject.push(runOnce(b.subject))
      anchor.push(runOnce(b.anchor))
    }
    const s = summarize(b.subject.label, subject)
    const a = summarize(b.anchor.label, anchor)
    const ratio = s.medianSeconds / a.medianSeconds
    const {maxRatio, maxMedianSeconds} = b
    const targeted = maxRatio !== undefined || maxMedianSeconds !== undefined
    const withinTarget = (maxRatio === undefined || ratio <= maxRatio) && (maxMedianSeconds === undefined || s.medianSeconds <= maxMedianSeconds)
    return {name: b.name, runs: b.runs, subject: s, anchor: a, ratio, maxRatio, maxMedianSeconds, ...(targeted ? {withinTarget} : {})}
  } finally {
    b.teardown?.()
  }
}
