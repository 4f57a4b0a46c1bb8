// Start-up stays light: a command loads only what it uses; prompts, spinners and
// tables load on first use, and `fvm serve` (on every
// connection's critical path) does without the command framework.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {fvmBin, tempDir} from '../support/cli.js'
import {repoRoot} from '../support/tools.js'

const HEAVY = ['@inquirer', 'ora', 'cli-table3']

/** The package a source or module path is in; undefined for fvm's own. */
function packageOf(file: string): string | undefined {
  const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1]
  return name?.startsWith('@inquirer') ? '@inquirer' : name
}

/** The libraries ARGS load: those of each module file the process resolves, and, for a file of the bundle, of every source it holds. */
function loadedPackages(args: string[], dir: string): Set<string> {
  const trace = path.join(dir, 'trace.txt')
  fs.writeFileSync(trace, '')
  const r = spawnSync(process.execPath, ['--import', path.join(repoRoot, 'test/support/trace-imports.mjs'), fvmBin, ...args],
    {encoding: 'utf8', env: {...process.env, FVM_TRACE_IMPORTS: trace}})
  expect(r.error).to.equal(undefined)
  const bundle = JSON.parse(fs.readFileSync(path.join(repoRoot, 'dist/meta.json'), 'utf8')) as {outputs: Record<string, {inputs: Record<string, unknown>}>}
  const sources = fs.readFileSync(trace, 'utf8').split('\n').filter((url) => url.startsWith('file:')).flatMap((url) => {
    const file = path.relative(repoRoot, fileURLToPath(url))
    return [file, ...Object.keys(bundle.outputs[file]?.inputs ?? {})]
  })
  return new Set(sources.map(packageOf).filter((n): n is string => n !== undefined))
}

describe('start-up cost', () => {
  let dir: string
  beforeEach(() => {
    dir = tempDir()
  })
  afterEach(() => fs.rmSync(dir, {recursive: true, force: true}))

  it('fvm --version loads no library at all', () => {
    expect([...loadedPackages(['--version'], dir)]).to.deep.equal([])
  })

  it('fvm init loads none of the interactive libraries', () => {
    const loaded = loadedPackages(['init', '--home', path.join(dir, 'h')], dir)
    expect(loaded.has('@oclif/core'), 'the trace works').to.equal(true)
    for (const lib of HEAVY) expect(loaded.has(lib), `${lib} was loaded`).to.equal(false)
  })

  it('fvm serve --home DIR loads no command framework', () => {
    const loaded = loadedPackages(['serve', '--home', path.join(dir, 'h')], dir)
    expect(loaded.has('yaml'), 'the trace works').to.equal(true)
    expect(loaded.has('@oclif/core'), '@oclif/core was loaded').to.equal(false)
  })
})
