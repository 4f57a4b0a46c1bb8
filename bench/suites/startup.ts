// CLI start-up: whole-process cost of `fvm --version` and `fvm --help` against `node -e 0`.
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import type {Benchmark} from '../harness.js'

const fvmBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/fvm.js')
const node = {label: 'node -e 0', argv: [process.execPath, '-e', '0']}

export const startup: Benchmark[] = [
  {name: 'startup: fvm --version', subject: {label: 'fvm --version', argv: [process.execPath, fvmBin, '--version']}, anchor: node, runs: 15, maxRatio: 2.5},
  {name: 'startup: fvm --help', subject: {label: 'fvm --help', argv: [process.execPath, fvmBin, '--help']}, anchor: node, runs: 15},
]
