// `fvm serve` under an ssh forced command: only fvm's own verb, only the options a
// client may pass, and the forced options win.
import {expect} from 'chai'
import {FvmError} from '../../src/errors.js'
import {serveRequest} from '../../src/plumbing/replicate/forced-command.js'

describe('serve request from SSH_ORIGINAL_COMMAND', () => {
  const free = {readOnly: false}

  it('takes fvm serve with --home and --read-only, quoted as fvm quotes them', () => {
    expect(serveRequest(`'fvm' 'serve' '--home' '/srv/my fvm'`, free)).to.deep.equal({home: '/srv/my fvm', readOnly: false})
    expect(serveRequest('/usr/local/bin/fvm serve --read-only', free)).to.deep.equal({home: undefined, readOnly: true})
    expect(serveRequest('fvm serve --home=/x', free)).to.deep.equal({home: '/x', readOnly: false})
  })

  it('keeps the forced options: a client cannot lift --read-only or pick another home', () => {
    const forced = {home: '/srv/fvm', readOnly: true}
    expect(serveRequest('fvm serve', forced)).to.deep.equal(forced)
    expect(serveRequest('fvm serve --home /srv/fvm/', forced)).to.deep.equal(forced)
    expect(() => serveRequest('fvm serve --home /etc', forced)).to.throw(FvmError, /serves the instance at "\/srv\/fvm" only/)
  })

  for (const [request, why] of [
    ['rm -rf /', /only "fvm serve"/],
    ['sh -c "fvm serve"', /only "fvm serve"/],
    ['fvm push x', /only "fvm serve"/],
    ['fvm serve; rm -rf /', /option .* is not allowed|only "fvm serve"/],
    ['fvm serve --home', /option "--home" is not allowed/],
    ['fvm serve --json', /option "--json" is not allowed/],
    ['fvm serve $(reboot)', /option .* is not allowed/],
    ['', /no command/],
    ['fvm serve \'unbalanced', /unbalanced|quote/],
  ] as const) {
    it(`refuses ${JSON.stringify(request)}`, () => {
      let error: unknown
      try {
        serveRequest(request, free)
      } catch (e) {
        error = e
      }
      expect(error).to.be.instanceOf(FvmError)
      expect((error as FvmError).kind).to.equal('usage')
      expect((error as FvmError).message).to.match(why).and.match(/^[^\n]+$/)
    })
  }
})
