// The metadata engine against the real thin-provisioning-tools and against itself:
// restore and check of 2,000,000 mappings, and a snapshot of a 1,000,000-block device
// against a snapshot of an empty one in the same pool.
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import type {Benchmark} from '../harness.js'
import {writeBigXml} from '../xml-gen.js'

const fvmBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/fvm.js')
const fvm = (...args: string[]): string[] => [process.execPath, fvmBin, 'plumbing', ...args]
const run = (argv: string[]): void => {
  execFileSync(argv[0], argv.slice(1), {stdio: ['ignore', 'ignore', 'inherit']})
}

export function engineBenchmarks(): Benchmark[] {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fvm-bench-engine-'))
  const xml = path.join(work, 'two-million.xml')
  const restored = path.join(work, 'restored')
  const anchorMeta = path.join(work, 'anchor.meta')
  const snapPool = path.join(work, 'snap-pool')
  let metadataBytes = 0
  process.once('exit', () => fs.rmSync(work, {recursive: true, force: true}))

  const restore: Benchmark = {
    name: 'engine: restore 2,000,000 mappings',
    subject: {label: 'fvm plumbing pool restore', argv: fvm('pool', 'restore', '--pool', restored, '--input', xml),
      before: () => fs.rmSync(restored, {recursive: true, force: true})},
    anchor: {label: 'thin_restore', argv: ['thin_restore', '-i', xml, '-o', anchorMeta],
      before: () => {
        fs.rmSync(anchorMeta, {force: true})
        fs.writeFileSync(anchorMeta, '')
        fs.truncateSync(anchorMeta, metadataBytes)
      }},
    runs: 5,
    maxRatio: 1,
    setup: () => {
      writeBigXml({file: xml, devices: 2, mappingsPerDevice: 1_000_000})
      run(fvm('pool', 'restore', '--pool', restored, '--input', xml))
      metadataBytes = fs.statSync(path.join(restored, 'metadata')).size
    },
  }

  const check: Benchmark = {
    name: 'engine: check 2,000,000 mappings',
    subject: {label: 'fvm plumbing pool check', argv: fvm('pool', 'check', '--pool', restored)},
    anchor: {label: 'thin_check', argv: ['thin_check', path.join(restored, 'metadata')]},
    runs: 5,
    maxRatio: 2,
    setup: () => {
      if (!fs.existsSync(xml)) writeBigXml({file: xml, devices: 2, mappingsPerDevice: 1_000_000})
      if (!fs.existsSync(path.join(restored, 'metadata'))) run(fvm('pool', 'restore', '--pool', restored, '--input', xml))
    },
  }

  const snapshot: Benchmark = {
    name: 'engine: snapshot of 1,000,000 mapped blocks vs of an empty device',
    subject: {label: 'thin snap (1M blocks)', argv: fvm('thin', 'snap', '--pool', snapPool, '10', '1'),
      before: () => run(fvm('thin', 'delete', '--pool', snapPool, '10'))},
    anchor: {label: 'thin snap (empty)', argv: fvm('thin', 'snap', '--pool', snapPool, '10', '3'),
      before: () => run(fvm('thin', 'delete', '--pool', snapPool, '10'))},
    runs: 10,
    maxRatio: 1.5,
    setup: () => {
      if (!fs.existsSync(xml)) writeBigXml({file: xml, devices: 2, mappingsPerDevice: 1_000_000})
      fs.rmSync(snapPool, {recursive: true, force: true})
      run(fvm('pool', 'restore', '--pool', snapPool, '--input', xml))
      run(fvm('thin', 'create', '--pool', snapPool, '3'))
      run(fvm('thin', 'create', '--pool', snapPool, '10'))
    },
  }

  return [restore, check, snapshot]
}
