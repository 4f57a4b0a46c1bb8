// fvm.yaml: the instance's identity and settings. Its presence is what makes a
// directory an fvm home; it is written first (atomically) and the pool and catalog it
// describes are made after it, by whatever command finds them missing.
import fs from 'node:fs'
import path from 'node:path'
import {parse, stringify} from 'yaml'
import {FvmError} from '../errors.js'
import {nameProblem} from './names.js'
import {writeFileAtomic} from './private-files.js'
import {parseSize} from './sizes.js'

export const CONFIG_FILE = 'fvm.yaml'
export const POOL_DIR = 'pool'
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
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function configPath(home: string): string {
  return path.join(home, CONFIG_FILE)
}

export function readConfig(home: string): InstanceConfig {
  const file = configPath(home)
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FvmError('notFound', `no fvm instance at "${home}"`, {hint: 'run "fvm init" or pass --home'})
    }
    throw error
  }
  let value: unknown
  try {
    value = parse(text)
  } catch (error) {
    throw new FvmError('corrupt', `"${file}" is not valid YAML: ${(error as Error).message.split('\n')[0]}`)
  }
  return validateConfig(value, file)
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
  return {
    version: c.version,
    uuid: c.uuid,
    name: c.name,
    created: c.created,
    pool: {size: pool.size!, blockSize: pool.blockSize!},
    ...(quota === undefined ? {} : {quota}),
  }
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
