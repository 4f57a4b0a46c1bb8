// The real thin-provisioning-tools, both generations: Debian 12's 0.9 (thin_check on
// PATH) and the stricter Rust 1.x (pdata_tools in .tools/). Every metadata file fvm
// writes is checked by both.
import {spawnSync} from 'node:child_process'
import {pdataTools} from './tools.js'

export interface ToolResult {
  status: number
  stdout: string
  stderr: string
}

export type Generation = 'v0.9' | 'v1'

function run(gen: Generation, tool: string, args: string[], input?: string): ToolResult {
  const [cmd, argv] = gen === 'v1' ? [pdataTools, [tool, ...args]] : [tool, args]
  const r = spawnSync(cmd, argv, {encoding: 'utf8', input, maxBuffer: 1 << 30})
  if (r.error) throw r.error
  return {status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr}
}

export const thinTools = {
  check: (meta: string, gen: Generation = 'v1', extra: string[] = []) => run(gen, 'thin_check', [...extra, meta]),
  dump: (meta: string, gen: Generation = 'v1', extra: string[] = []) => run(gen, 'thin_dump', [...extra, meta]),
  restore: (xml: string, meta: string, gen: Generation = 'v1') => run(gen, 'thin_restore', ['-i', xml, '-o', meta]),
  delta: (meta: string, snap1: number, snap2: number, gen: Generation = 'v1', extra: string[] = []) =>
    run(gen, 'thin_delta', [...extra, '--snap1', String(snap1), '--snap2', String(snap2), meta]),
  ls: (meta: string, gen: Generation = 'v1', extra: string[] = []) => run(gen, 'thin_ls', [...extra, meta]),
}

/** Asserts that both generations of thin_check accept the metadata file. */
export function assertThinCheckPasses(meta: string): void {
  for (const gen of ['v0.9', 'v1'] as const) {
    const r = thinTools.check(meta, gen)
    if (r.status !== 0) throw new Error(`thin_check ${gen} failed on ${meta} (exit ${r.status}):\n${r.stderr}${r.stdout}`)
  }
}

/** Tools a group needs to run thin_check of both generations. */
export const THIN_TOOLS = ['thin_check', 'thin_dump', 'thin_restore', 'thin_delta', pdataTools]
