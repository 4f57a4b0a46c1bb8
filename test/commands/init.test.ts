// In-process command tests: the typed result run() returns, and exit codes as oclif sees them.
import {runCommand} from '@oclif/test'
import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import type {Instance} from '../../src/plumbing/instance.js'
import {repoRoot} from '../support/tools.js'
import {tempDir} from '../support/cli.js'

describe('init (in process)', () => {
  let dir: string
  beforeEach(() => {
    dir = tempDir()
    process.exitCode = undefined
  })
  afterEach(() => {
    fs.rmSync(dir, {recursive: true, force: true})
    process.exitCode = undefined
  })

  it('returns the instance it created', async () => {
    const home = path.join(dir, 'h')
    const {result, error} = await runCommand<Instance>(['init', '--home', home, '--name', 'inproc'], {root: repoRoot})
    expect(error).to.equal(undefined)
    expect(result).to.include({name: 'inproc', home, poolDir: path.join(home, 'pool')})
  })

  it('keeps the conflict exit code in --json mode', async () => {
    const home = path.join(dir, 'h')
    await runCommand(['init', '--home', home], {root: repoRoot})
    const {stdout} = await runCommand(['init', '--home', home, '--json'], {root: repoRoot})
    expect(JSON.parse(stdout).error.exitCode).to.equal(4)
    expect(process.exitCode).to.equal(4)
  })

  it('fails with the conflict exit code in text mode', async () => {
    const home = path.join(dir, 'h')
    await runCommand(['init', '--home', home], {root: repoRoot})
    const {error} = await runCommand(['init', '--home', home], {root: repoRoot})
    expect(error?.oclif?.exit).to.equal(4)
  })
})
