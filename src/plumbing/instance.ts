// Creating an instance home: the private directory, its pool folder, and fvm.yaml.
import {randomUUID} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {FvmError} from '../errors.js'
import {CONFIG_VERSION, type InstanceConfig, POOL_DIR, configPath, writeConfig} from './config.js'
import {checkName, nameProblem} from './names.js'
import {mkdirPrivate} from './private-files.js'

export interface InitOptions {
  home: string
  /** The instance name; defaults to `hostname`. */
  name?: string
  hostname: string
}

export interface Instance extends InstanceConfig {
  home: string
  pool: string
}

export function initInstance(options: InitOptions): Instance {
  const home = path.resolve(options.home)
  let name: string
  if (options.name === undefined) {
    const problem = nameProblem(options.hostname)
    if (problem) {
      throw new FvmError('usage', `hostname "${options.hostname}" is not a valid instance name: ${problem}`, {
        hint: 'pass --name NAME',
      })
    }
    name = options.hostname
  } else {
    name = checkName('instance', options.name)
  }
  if (fs.existsSync(configPath(home))) {
    throw new FvmError('conflict', `an fvm instance already exists at "${home}"`, {
      hint: 'choose another --home, or remove that one first',
    })
  }
  const config: InstanceConfig = {version: CONFIG_VERSION, uuid: randomUUID(), name, created: new Date().toISOString()}
  mkdirPrivate(home)
  mkdirPrivate(path.join(home, POOL_DIR))
  // fvm.yaml last: until it exists the directory is not an instance, so a crash
  // part-way leaves nothing that a second `fvm init` would refuse.
  writeConfig(home, config)
  return {...config, home, pool: path.join(home, POOL_DIR)}
}
