// fvm.yaml: the instance's identity, settings and remotes. Its presence is what makes a
// directory an fvm home; it is written first (atomically) and the pool and catalog it
// describes are made after it, by whatever command finds them missing.
import fs from 'node:fs'
import {parse, parseDocument, stringify} from 'yaml'
import {FvmError} from '../errors.js'
import {entry, setEntry} from './catalog/model.js'
import {configPath} from './home-layout.js'
import {nameProblem, printable} from './names.js'
import {writeFileAtomic} from './private-files.js'
import {parseSize} from './sizes.js'

export const CONFIG_VERSION = 1

export interface PoolSettings {
  /** Bytes of the (sparse) data file. */
  size: number
  /** Bytes per data block: a multiple of 64 KiB. */
  blockSize: number
}

export interface InstanceConfig {
  version: typeof CONFIG_VERSION
  uuid: string
  name: string
  created: string
  pool: PoolSettings
  /** The most bytes all volumes together may address (`quota: 500GiB`); absent: no limit. */
  quota?: number
  /** Other instances by the names `fvm remote add` gave them; absent: none. */
  remotes?: Record<string, RemoteConfig>
}

export interface RemoteConfig {
  /** Where it is, in the canonical form of transport/address.ts. */
  url: string
  /**
   * Its own instance name, once a push or pull has met it: what its remote branches
   * are named after here, since the name given to the remote may differ.
   */
  instance?: string
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

function readConfigText(home: string): string {
  try {
    return fs.readFileSync(configPath(home), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FvmError('notFound', `no fvm instance at "${home}"`, {hint: 'run "fvm init" or pass --home'})
    }
    throw error
  }
}

function notYaml(file: string, error: Error): FvmError {
  return new FvmError('corrupt', `"${file}" is not valid YAML: ${error.message.split('\n')[0]}`)
}

export function readConfig(home: string): InstanceConfig {
  const file = configPath(home)
  const text = readConfigText(home)
  let value: unknown
  try {
    value = parse(text)
  } catch (error) {
    throw notYaml(file, error as Error)
  }
  return validateConfig(value, file)
}

/** The instance's configured remotes, by name (the config is read now, whatever is looked up later). */
export function configuredRemotes(home: string): (name: string) => RemoteConfig | undefined {
  const remotes = readConfig(home).remotes ?? {}
  return (name) => entry(remotes, name)
}

function validateConfig(value: unknown, file: string): InstanceConfig {
  const c = value as Partial<InstanceConfig> | null
  const bad = (what: string): never => {
    throw new FvmError('corrupt', `"${file}": ${what}`)
  }
  if (c === null || typeof c !== 'object') return bad('not a mapping')
  if (c.version !== CONFIG_VERSION) return bad(`unsupported version ${String(c.version)} (this fvm reads ${CONFIG_VERSION})`)
  if (typeof c.uuid !== 'string' || !UUID.test(c.uuid)) return bad('uuid missing or malformed')
  if (typeof c.name !== 'string' || nameProblem(c.name)) return bad('instance name missing or invalid')
  if (typeof c.created !== 'string') return bad('created missing')
  const pool = c.pool as Partial<PoolSettings> | undefined
  if (!pool || !Number.isSafeInteger(pool.size) || !Number.isSafeInteger(pool.blockSize)) return bad('pool size or blockSize missing')
  const quota = c.quota === undefined || c.quota === null ? undefined : quotaBytes(c.quota, file)
  const remotes = c.remotes === undefined || c.remotes === null ? undefined : remotesOf(c.remotes, bad)
  return {
    version: c.version,
    uuid: c.uuid,
    name: c.name,
    created: c.created,
    pool: {size: pool.size!, blockSize: pool.blockSize!},
    ...(quota === undefined ? {} : {quota}),
    ...(remotes === undefined ? {} : {remotes}),
  }
}

/**
 * The remotes' names and fields. A url is only checked to be text here: one that no
 * longer parses fails where it is used, so `fvm remote set-url` can still fix it.
 */
function remotesOf(value: unknown, bad: (what: string) => never): Record<string, RemoteConfig> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('remotes must map names to {url: ADDRESS}')
  const remotes: Record<string, RemoteConfig> = {}
  for (const [name, fields] of Object.entries(value)) {
    const problem = nameProblem(name)
    if (problem) return bad(`remote name "${printable(name)}" ${problem}`)
    const r = fields as Partial<RemoteConfig> | null
    if (r === null || typeof r !== 'object' || typeof r.url !== 'string' || r.url === '') return bad(`remote "${name}": url missing`)
    if (r.instance !== undefined && (typeof r.instance !== 'string' || nameProblem(r.instance))) return bad(`remote "${name}": instance name invalid`)
    setEntry(remotes, name, {url: r.url, ...(r.instance === undefined ? {} : {instance: r.instance})})
  }
  return Object.keys(remotes).length === 0 ? undefined : remotes
}

/** A quota as people write it in the file: a size (`10G`, `1TiB`) or a number of bytes. */
function quotaBytes(value: unknown, file: string): number {
  let bytes: number
  try {
    bytes = parseSize(typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value), 'quota')
  } catch (error) {
    throw new FvmError('corrupt', `"${file}": ${(error as FvmError).message}`, {hint: (error as FvmError).hint})
  }
  if (bytes === 0) throw new FvmError('corrupt', `"${file}": quota must be more than 0 bytes`, {hint: 'remove the quota line to lift the limit'})
  return bytes
}

export function writeConfig(home: string, config: InstanceConfig): void {
  writeFileAtomic(configPath(home), `# fvm instance; see "man fvm"\n${stringify(config)}`)
}

/**
 * Replaces the remotes in fvm.yaml (sorted by name; none: the key goes), atomically.
 * Every other line stays as it was written, comments and a quota like `500GiB` too.
 * The caller holds the instance's lock, so a concurrent edit cannot be lost.
 */
export function writeRemotes(home: string, remotes: Record<string, RemoteConfig>): void {
  const file = configPath(home)
  const doc = parseDocument(readConfigText(home))
  if (doc.errors.length > 0) throw notYaml(file, doc.errors[0])
  const names = Object.keys(remotes).sort()
  if (names.length === 0) {
    doc.delete('remotes')
  } else {
    const sorted: Record<string, RemoteConfig> = {}
    for (const name of names) setEntry(sorted, name, entry(remotes, name)!)
    doc.set('remotes', doc.createNode(sorted))
  }
  writeFileAtomic(file, doc.toString())
}
