import {expect} from 'chai'
import {ExitCode, FvmError, exitCodeMeanings} from '../../src/errors.js'

describe('errors', () => {
  it('maps each kind to its exit code', () => {
    const e = new FvmError('conflict', 'instance "x" already exists', {hint: 'use another --home'})
    expect(e.exitCode).to.equal(4)
    expect(e.hint).to.equal('use another --home')
  })

  it('documents every exit code', () => {
    expect(Object.keys(exitCodeMeanings)).to.deep.equal(Object.keys(ExitCode))
    expect(new Set(Object.values(ExitCode)).size).to.equal(Object.keys(ExitCode).length)
  })
})
