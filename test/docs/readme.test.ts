// README.md is where a new user starts: its test command is what CI runs, and its
// exit code table is the one the code uses.
import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {ExitCode, exitCodeMeanings} from '../../src/errors.js'
import {repoRoot} from '../support/tools.js'

const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8')

describe('README.md', () => {
  it('has exactly two quick-start commands, and CI runs the test one', () => {
    const block = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? ''
    const commands = block.trim().split('\n').map((line) => line.replace(/\s+#.*$/, '').trim())
    expect(commands).to.deep.equal(['npm ci && npm run quickstart', 'npm ci && npm test'])
    expect(fs.readFileSync(path.join(repoRoot, '.ci/run'), 'utf8').trim().split('\n').at(-1)).to.equal(commands[1])
  })

  it('documents every exit code as the code defines it', () => {
    for (const [name, code] of Object.entries(ExitCode)) {
      expect(readme).to.include(`| ${code} | ${exitCodeMeanings[name as keyof typeof ExitCode]} |`)
    }
  })
})
