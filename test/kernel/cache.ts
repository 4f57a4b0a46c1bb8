// The git-ignored cache of built boot files (initramfs, extracted vmlinux), keyed by
// what went into them so that a changed kernel, busybox or init script rebuilds.
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, renameSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {repoRoot} from '../support/tools.js'

const CACHE_DIR = path.join(repoRoot, '.tools/kernel-vm')

/** Identifies a file's version cheaply, for cache keys. */
export function fingerprint(file: string): string {
  const st = statSync(file)
  return `${file}:${st.size}:${st.mtimeMs}`
}

export function hashOf(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16)
}

/** The cached file `name`, built by `build` if absent; undefined when `build` yields nothing. */
export function cachedFile(name: string, build: () => Buffer): string
export function cachedFile(name: string, build: () => Buffer | undefined): string | undefined
export function cachedFile(name: string, build: () => Buffer | undefined): string | undefined {
  const file = path.join(CACHE_DIR, name)
  if (existsSync(file)) return file
  const data = build()
  if (!data) return undefined
  mkdirSync(CACHE_DIR, {recursive: true})
  // Written aside and renamed, so concurrent test runs never see a partial file.
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, data)
  renameSync(tmp, file)
  return file
}
