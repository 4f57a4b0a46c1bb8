// Runs the built bin/fvm as a separate process, the way people and scripts do.
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {repoRoot} from './tools.js'

export const fvmBin = path.join(repoRoot, 'bin/fvm.js')

export interface CliResult {
  status: number
  stdout: string
  stderr: string
}

export function fvm(args: string[], options: {env?: NodeJS.ProcessEnv, input?: string, cwd?: string} = {}): CliResult {
  const env = {...process.env, ...options.env}
  delete env.FVM_HOME
  if (options.env?.FVM_HOME) env.FVM_HOME = options.env.FVM_HOME
  const r = spawnSync(process.execPath, [fvmBin, ...args], {encoding: 'utf8', env, input: options.input, cwd: options.cwd})
  if (r.error) throw r.error
  return {status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr}
}

/** stdout as the one JSON document a run printed; otherwise fails showing what it printed. */
export function jsonOf<T = Record<string, unknown>>(r: {status: number, stdout: string | Buffer, stderr: string}): T {
  try {
    return JSON.parse(r.stdout.toString()) as T
  } catch {
    throw new Error(`not JSON (exit ${r.status}): ${r.stdout.toString()}\n${r.stderr}`)
  }
}

/** Parses stdout as the one JSON object a --json run prints. */
export function fvmJson<T = Record<string, unknown>>(args: string[], options: Parameters<typeof fvm>[1] = {}): {status: number, json: T, stderr: string} {
  const r = fvm([...args, '--json'], options)
  return {status: r.status, json: jsonOf<T>(r), stderr: r.stderr}
}

export function tempDir(prefix = 'fvm-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

const HASHED_FILE_LIMIT = 64 * 2 ** 20

/**
 * Every file under `dir` with its mode and content, for "nothing changed" assertions:
 * a sha256 of files up to 64 MiB; for bigger ones (sparse pool data files) the size,
 * allocated blocks and mtime, which any write changes.
 */
export function snapshotTree(dir: string): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, {withFileTypes: true})) {
      const p = path.join(d, entry.name)
      const st = fs.statSync(p)
      if (entry.isDirectory()) {
        out.set(`${path.relative(dir, p)}/`, `mode=${st.mode.toString(8)}`)
        walk(p)
      } else if (st.size <= HASHED_FILE_LIMIT) {
        out.set(path.relative(dir, p), `mode=${st.mode.toString(8)} sha256=${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`)
      } else {
        out.set(path.relative(dir, p), `mode=${st.mode.toString(8)} size=${st.size} blocks=${st.blocks} mtime=${st.mtimeMs}`)
      }
    }
  }
  walk(dir)
  return out
}
