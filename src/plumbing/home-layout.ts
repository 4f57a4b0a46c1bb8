// Where an instance keeps its files: fvm.yaml, whose presence makes a directory an fvm
// home, and the pool's directory. Apart from config.ts, so what only needs to find
// them (bin/fvm.js dialling early) does not load the YAML parser.
import path from 'node:path'

export const CONFIG_FILE = 'fvm.yaml'
export const POOL_DIR = 'pool'

export function configPath(home: string): string {
  return path.join(home, CONFIG_FILE)
}
