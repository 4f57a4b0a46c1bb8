// Finding a host-installed kernel the VM can boot with dm-thin, and reading its modules.
import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {gunzipSync} from 'node:zlib'

export interface Kernel {
  version: string
  vmlinuz: string
  modulesDir: string
}

export interface KernelModule {
  /** Canonical name: file name without .ko*, dashes as underscores. */
  name: string
  file: string
}

const BOOT_DIR = '/boot'
const MODULES_ROOT = '/lib/modules'

const moduleName = (file: string): string => path.basename(file).replace(/\.ko(\.\w+)?$/, '').replaceAll('-', '_')

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

/** modules.dep as name -> {file, deps}; deps are transitive, listed so that loading them last-to-first works. */
function moduleDeps(modulesDir: string): Map<string, {file: string; deps: string[]}> {
  const deps = new Map<string, {file: string; deps: string[]}>()
  for (const line of readOrEmpty(path.join(modulesDir, 'modules.dep')).split('\n')) {
    const [file, rest] = line.split(':')
    if (!file || rest === undefined) continue
    deps.set(moduleName(file), {file, deps: rest.split(' ').filter(Boolean).map(moduleName)})
  }
  return deps
}

function builtinModules(modulesDir: string): Set<string> {
  return new Set(readOrEmpty(path.join(modulesDir, 'modules.builtin')).split('\n').filter(Boolean).map(moduleName))
}

function hasModule(modulesDir: string, name: string): boolean {
  return moduleDeps(modulesDir).has(name) || builtinModules(modulesDir).has(name)
}

/** The newest /boot/vmlinuz-<ver> whose /lib/modules/<ver> provides dm-thin-pool, if any. */
export function findKernel(): Kernel | undefined {
  const byVersion = new Intl.Collator('en', {numeric: true}).compare
  const version = readdirOrEmpty(BOOT_DIR)
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((v) => hasModule(path.join(MODULES_ROOT, v), 'dm_thin_pool'))
    .sort(byVersion)
    .at(-1)
  if (version === undefined) return undefined
  return {version, vmlinuz: path.join(BOOT_DIR, `vmlinuz-${version}`), modulesDir: path.join(MODULES_ROOT, version)}
}

/**
 * The module files to insmod, in a working order, so that each wanted module is loaded
 * with its dependencies; built-in modules need nothing.
 */
export function moduleLoadOrder(kernel: Kernel, wanted: string[]): KernelModule[] {
  const deps = moduleDeps(kernel.modulesDir)
  const builtin = builtinModules(kernel.modulesDir)
  const order: KernelModule[] = []
  const add = (name: string): void => {
    if (builtin.has(name) || order.some((m) => m.name === name)) return
    const entry = deps.get(name)
    if (!entry) throw new Error(`kernel ${kernel.version} has no module ${name} (neither in modules.dep nor built in)`)
    order.push({name, file: path.join(kernel.modulesDir, entry.file)})
  }
  for (const name of wanted) {
    for (const dep of [...(deps.get(name)?.deps ?? [])].reverse()) add(dep)
    add(name)
  }
  return order
}

/** The module's ELF image; busybox insmod cannot be relied on to decompress .ko.xz or .ko.zst. */
export function readModule(mod: KernelModule): Buffer {
  const ext = path.extname(mod.file)
  if (ext === '.ko') return readFileSync(mod.file)
  if (ext === '.gz') return gunzipSync(readFileSync(mod.file))
  const tool = {'.xz': 'xz', '.zst': 'zstd'}[ext]
  if (!tool) throw new Error(`unknown module compression: ${mod.file}`)
  try {
    return execFileSync(tool, ['-dc', mod.file], {maxBuffer: 1 << 30})
  } catch (error) {
    throw new Error(`cannot decompress ${mod.file} with ${tool}: ${(error as Error).message}`)
  }
}
