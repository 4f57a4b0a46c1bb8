// npm run bench [-- --json] [NAME-FILTER...]: runs every benchmark (or those whose name
// contains a filter) and prints a table, or JSON with --json.
import {renderTable} from '../src/ui/table.js'
import {formatBytes} from '../src/ui/units.js'
import {type BenchResult, type Benchmark, runBenchmark} from './harness.js'
import {deltaBenchmarks} from './suites/delta.js'
import {engineBenchmarks} from './suites/engine.js'
import {ioBenchmarks} from './suites/io.js'
import {porcelainBenchmarks} from './suites/porcelain.js'
import {PUSH_BENCHMARK_NAMES, pushBenchmarks, pushUnavailable} from './suites/push.js'
import {startup} from './suites/startup.js'

const args = process.argv.slice(2)
const json = args.includes('--json')
const filters = args.filter((a) => a !== '--json')
const wanted = (name: string): boolean => filters.length === 0 || filters.some((f) => name.includes(f))

// The push suite starts an sshd (root only), so only when one of its benchmarks is asked for.
const pushWanted = PUSH_BENCHMARK_NAMES.some(wanted)
const pushSkipped = pushWanted ? pushUnavailable() : undefined
if (pushSkipped) process.stderr.write(`skipping the push benchmarks: ${pushSkipped}\n`)
const push = pushWanted && !pushSkipped ? await pushBenchmarks() : []

const all: Benchmark[] = [...startup, ...engineBenchmarks(), ...ioBenchmarks(), ...deltaBenchmarks(), ...porcelainBenchmarks(), ...push]
const chosen = all.filter((b) => wanted(b.name))

const results: BenchResult[] = []
for (const b of chosen) {
  if (!json) process.stderr.write(`running ${b.name} (${b.runs} runs each)...\n`)
  results.push(runBenchmark(b))
}

if (json) {
  process.stdout.write(`${JSON.stringify({results}, null, 2)}\n`)
} else {
  const ms = (s: number): string => `${(s * 1000).toFixed(1)} ms`
  const range = (m: BenchResult['subject']): string => `${ms(m.minSeconds)}-${ms(m.maxSeconds)}`
  const target = (r: BenchResult): string => {
    const limits = [r.maxRatio === undefined ? '' : `<= ${Number(r.maxRatio.toFixed(2))}x`, r.maxMedianSeconds === undefined ? '' : `<= ${ms(r.maxMedianSeconds)}`]
    const stated = limits.filter(Boolean).join(', ')
    return stated === '' ? '-' : `${stated} ${r.withinTarget ? 'ok' : 'MISSED'}`
  }
  process.stdout.write(await renderTable(
    ['benchmark', 'fvm median', 'fvm min-max', 'fvm peak', 'anchor', 'anchor median', 'anchor min-max', 'anchor peak', 'ratio', 'target'],
    results.map((r) => [r.name, ms(r.subject.medianSeconds), range(r.subject), formatBytes(r.subject.peakRssKiB * 1024),
      r.anchor.label, ms(r.anchor.medianSeconds), range(r.anchor), formatBytes(r.anchor.peakRssKiB * 1024),
      `${r.ratio.toFixed(2)}x`, target(r)]),
  ))
}
