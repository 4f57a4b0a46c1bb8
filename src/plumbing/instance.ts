// Creating an instance home: the private directory, fvm.yaml, then its pool and
// catalog. fvm.yaml comes first and names the pool's settings, so a crash part-way is
// finished by the next command that opens the instance (see instance-open.ts).
import {randomUUID} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {dataBlockSectors} from '../dm/thin/pool-layout.js'
import {FvmError} from '../errors.js'
import {CONFIG_VERSION, type InstanceConfig, writeConfig} from './config.js'
import {POOL_DIR, configPath} from './home-layout.js'
import {type InstanceContext, withInstance} from './instance-open.js'
import {checkName, nameProblem} from './names.js'
import {mkdirPrivate} from './private-files.js'

export const DEFAULT_POOL_SIZE = 64 * 2 ** 30
export const DEFAULT_BLOCK_SIZE = 64 * 2 ** 10

export interface InitOptions extends Omit<InstanceContext, 'home'> {
  home: string
  /** The instance name; defaults to `hostname`. */
  name?: string
  hostname: string
  /** Bytes of the sparse data file; rounded down to whole blocks. */
  size?: number
  blockSize?: number
}

export interface Instance extends Omit<InstanceConfig, 'pool'> {
  home: string
  poolDir: string
  pool: {size: number, blockSize: number, dataBlocks: number}
}

function instanceName(options: InitOptions): string {
  if (options.name !== undefined) return checkName('instance', options.name)
  const problem = nameProblem(options.hostname)
  if (problem) {
    throw new FvmError('usage', `hostname "${options.hostname}" is not a valid instance name: ${problem}`, {hint: 'pass --name NAME'})
  }
  return options.hostname
}

function poolSettings(options: InitOptions): InstanceConfig['pool'] {
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE
  dataBlockSectors(blockSize)
  const dataBlocks = Math.floor((options.size ?? DEFAULT_POOL_SIZE) / blockSize)
  if (dataBlocks < 1) throw new FvmError('usage', `pool size ${options.size} is smaller than one block of ${blockSize} bytes`)
  return {size: dataBlocks * blockSize, blockSize}
}

export function describeInstance(home: string, config: InstanceConfig): Instance {
  const {pool, ...identity} = config
  return {...identity, home, poolDir: path.join(home, POOL_DIR), pool: {...pool, dataBlocks: pool.size / pool.blockSize}}
}

export function initInstance(options: InitOptions): Instance {
  const home = path.resolve(options.home)
  const name = instanceName(options)
  const pool = poolSettings(options)
  if (fs.existsSync(configPath(home))) {
    throw new FvmError('conflict', `an fvm instance already exists at "${home}"`, {
      hint: 'choose another --home, or remove that one first',
    })
  }
  const config: InstanceConfig = {version: CONFIG_VERSION, uuid: randomUUID(), name, created: new Date().toISOString(), pool}
  mkdirPrivate(home)
  mkdirPrivate(path.join(home, POOL_DIR))
  writeConfig(home, config)
  withInstance({...options, home}, () => undefined)
  return describeInstance(home, config)
}
