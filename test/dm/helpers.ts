// Shared helpers for the dm engine tests: scratch pool directories, thin_dump parsing,
// and an in-memory model of what a pool should contain.
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {expect} from 'chai'
import {assertThinCheckPasses, thinTools} from '../support/thin-tools.js'
import {pdataTools} from '../support/tools.js'
import {checkMetadata} from '../../src/dm/thin/check.js'
import type {ThinPool} from '../../src/dm/thin/thin-pool.js'

const made: string[] = []

/** A new empty directory for a pool; removed by cleanupPoolDirs. */
export function scratchDir(prefix = 'fvm-dm-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  made.push(dir)
  return dir
}

export function cleanupScratchDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, {recursive: true, force: true})
}

export function metadataPath(dir: string): string {
  return path.join(dir, 'metadata')
}

/** Both generations of thin_check accept the pool's metadata. */
export function checkPool(dir: string): void {
  assertThinCheckPasses(metadataPath(dir))
}

export interface DumpedDevice {
  mappedBlocks: number
  transaction: number
  creationTime: number
  snapTime: number
  /** vblock -> [dataBlock, time] */
  mappings: Map<number, [number, number]>
}

export interface Dump {
  time: number
  transaction: number
  nrDataBlocks: number
  devices: Map<number, DumpedDevice>
}

function attrs(tag: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const m of tag.matchAll(/(\w+)="([^"]*)"/g)) out[m[1]] = Number(m[2])
  return out
}

/** thin_dump 0.9's XML, parsed loosely (mapping runs expanded). */
export function dumpPool(dir: string, extra: string[] = []): Dump {
  const r = thinTools.dump(metadataPath(dir), 'v0.9', extra)
  if (r.status !== 0) throw new Error(`thin_dump failed (${r.status}): ${r.stderr}`)
  const dump: Dump = {time: 0, transaction: 0, nrDataBlocks: 0, devices: new Map()}
  let device: DumpedDevice | undefined
  for (const line of r.stdout.split('\n')) {
    const t = line.trim()
    if (t.startsWith('<superblock')) {
      const a = attrs(t)
      dump.time = a.time
      dump.transaction = a.transaction
      dump.nrDataBlocks = a.nr_data_blocks
    } else if (t.startsWith('<device ')) {
      const a = attrs(t)
      device = {mappedBlocks: a.mapped_blocks, transaction: a.transaction, creationTime: a.creation_time, snapTime: a.snap_time, mappings: new Map()}
      dump.devices.set(a.dev_id, device)
    } else if (t.startsWith('<range_mapping')) {
      const a = attrs(t)
      for (let i = 0; i < a.length; i++) device!.mappings.set(a.origin_begin + i, [a.data_begin + i, a.time])
    } else if (t.startsWith('<single_mapping')) {
      const a = attrs(t)
      device!.mappings.set(a.origin_block, [a.data_block, a.time])
    }
  }
  return dump
}

/** What a pool should hold: device id -> vblock -> data block. */
export type Model = Map<number, Map<number, number>>

/** Same keys and values; big maps compared without chai's slow deep equality. */
function expectSameMappings(actual: Map<number, number>, expected: Map<number, number>, what: string): void {
  for (const [v, b] of expected) {
    if (actual.get(v) !== b) expect.fail(`${what}: block ${v} maps to ${actual.get(v)}, expected ${b}`)
  }
  for (const v of actual.keys()) if (!expected.has(v)) expect.fail(`${what}: block ${v} should not be mapped`)
}

/** The pool holds exactly the model's devices and mappings, with exact mapped_blocks. */
export function expectPoolMatches(pool: ThinPool, model: Model): void {
  expect(pool.devices()).to.deep.equal([...model.keys()].sort((a, b) => a - b))
  for (const [id, mappings] of model) {
    expect(pool.details(id).mappedBlocks, `mapped_blocks of ${id}`).to.equal(mappings.size)
    const actual = new Map<number, number>()
    let last = -1
    for (const m of pool.mappings(id)) {
      if (m.vblock <= last) expect.fail(`mappings of ${id} out of order at ${m.vblock}`)
      last = m.vblock
      actual.set(m.vblock, m.dataBlock)
    }
    expectSameMappings(actual, mappings, `device ${id}`)
  }
}

/** thin_dump sees exactly the model's devices and mappings. */
export function expectDumpMatches(dir: string, model: Model): Dump {
  const dump = dumpPool(dir)
  expect([...dump.devices.keys()].sort((a, b) => a - b)).to.deep.equal([...model.keys()].sort((a, b) => a - b))
  for (const [id, mappings] of model) {
    const d = dump.devices.get(id)!
    expect(d.mappedBlocks, `dumped mapped_blocks of ${id}`).to.equal(mappings.size)
    expectSameMappings(new Map([...d.mappings].map(([v, [b]]) => [v, b])), mappings, `dumped device ${id}`)
  }
  return dump
}

/** A small deterministic PRNG, so scenarios replay exactly. */
export function prng(seed: number): (n: number) => number {
  let s = seed >>> 0
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return Math.floor((s / 4294967296) * n)
  }
}

/**
 * Runs both generations of thin_check on many metadata files at once (the Rust one
 * sleeps half a second per run, so running them side by side saves most of the
 * wall time). Resolves to the failures, with each tool's output.
 */
export async function thinCheckAll(files: string[], parallel = 12): Promise<string[]> {
  const jobs = files.flatMap((file) => [
    {file, cmd: 'thin_check', args: [file]},
    {file, cmd: pdataTools, args: ['thin_check', file]},
  ])
  const failures: string[] = []
  const run = (job: (typeof jobs)[number]) =>
    new Promise<void>((resolve) => {
      const child = spawn(job.cmd, job.args)
      let out = ''
      child.stdout.on('data', (d) => (out += d))
      child.stderr.on('data', (d) => (out += d))
      child.on('close', (status) => {
        if (status !== 0) failures.push(`${job.cmd} ${job.file} (exit ${status}):\n${out}`)
        resolve()
      })
    })
  let next = 0
  await Promise.all(
    Array.from({length: Math.min(parallel, jobs.length)}, async () => {
      while (next < jobs.length) await run(jobs[next++])
    }),
  )
  return failures
}

/**
 * The final metadata of each random sequence, kept so both thin_checks can run on all of
 * them at once at the end (in parallel); a failure names the sequence's commands.
 */
export class SequenceArchive<C> {
  private readonly dir = scratchDir('fvm-sequences-')
  private readonly files: string[] = []
  private readonly sequences: C[] = []

  get size(): number {
    return this.files.length
  }

  /** Runs one sequence in a fresh pool directory: our check must find it clean; the metadata is kept. */
  run(commands: C, sequence: (dir: string) => void): void {
    const dir = scratchDir()
    try {
      sequence(dir)
      const report = checkMetadata(metadataPath(dir))
      expect(report.clean, JSON.stringify(report.issues)).to.equal(true)
      this.keep(metadataPath(dir), commands)
    } finally {
      fs.rmSync(dir, {recursive: true, force: true})
    }
  }

  private keep(metadata: string, commands: C): void {
    const file = path.join(this.dir, `sequence-${this.files.length}`)
    fs.copyFileSync(metadata, file)
    this.files.push(file)
    this.sequences.push(commands)
  }

  async assertThinCheckPasses(): Promise<void> {
    const failed = (await thinCheckAll(this.files)).map((f) => {
      const n = Number(/sequence-(\d+)/.exec(f)![1])
      return `${f}\ncommands: ${JSON.stringify(this.sequences[n])}`
    })
    expect(failed, failed.join('\n\n')).to.deep.equal([])
  }
}
