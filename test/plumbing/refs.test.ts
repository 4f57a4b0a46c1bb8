import {expect} from 'chai'
import fc from 'fast-check'
import {FvmError} from '../../src/errors.js'
import {type Ref, type RefKind, formatRef, parseRef} from '../../src/plumbing/refs.js'

const ALL: RefKind[] = ['volume', 'branch', 'remote-branch', 'tag']

function usageError(text: string, accept: RefKind[] = ALL, extra: {instance?: string; volume?: string} = {}): string {
  try {
    parseRef(text, {accept, ...extra})
  } catch (err) {
    expect(err).to.be.instanceOf(FvmError)
    expect((err as FvmError).kind).to.equal('usage')
    return (err as FvmError).message
  }
  return expect.fail(`"${text}" parsed`)
}

describe('refs', () => {
  describe('parseRef', () => {
    it('reads every form', () => {
      const cases: Array<[string, Ref]> = [
        ['mydata', {kind: 'volume', volume: 'mydata'}],
        ['mydata/trunk', {kind: 'branch', volume: 'mydata', branch: 'trunk'}],
        ['beta/mydata/trunk', {kind: 'remote-branch', instance: 'beta', volume: 'mydata', branch: 'trunk'}],
        ['v1@mydata', {kind: 'tag', volume: 'mydata', tag: 'v1'}],
        ['v1.2-rc_3@my.data', {kind: 'tag', volume: 'my.data', tag: 'v1.2-rc_3'}],
      ]
      for (const [text, ref] of cases) expect(parseRef(text, {accept: ALL, instance: 'alpha'}), text).to.deep.equal(ref)
    })

    it('reads HOST/VOLUME/BRANCH naming this instance as a local branch', () => {
      expect(parseRef('alpha/mydata/trunk', {accept: ['branch'], instance: 'alpha'})).to.deep.equal({
        kind: 'branch',
        volume: 'mydata',
        branch: 'trunk',
      })
    })

    it('reads a bare name as a tag of the context volume where volumes are not taken', () => {
      expect(parseRef('v1', {accept: ['tag'], volume: 'mydata'})).to.deep.equal({kind: 'tag', volume: 'mydata', tag: 'v1'})
      expect(parseRef('v1@other', {accept: ['tag'], volume: 'mydata'})).to.deep.equal({kind: 'tag', volume: 'other', tag: 'v1'})
      expect(parseRef('mydata', {accept: ['volume', 'tag'], volume: 'x'})).to.deep.equal({kind: 'volume', volume: 'mydata'})
    })

    it('names the bad part and why', () => {
      expect(usageError('mydata/..')).to.equal('invalid branch name ".." in "mydata/..": must not start with "."')
      expect(usageError('@mydata')).to.equal('invalid tag name "" in "@mydata": must not be empty')
      expect(usageError('v1@')).to.equal('invalid volume name "" in "v1@": must not be empty')
      expect(usageError('/trunk')).to.equal('invalid volume name "" in "/trunk": must not be empty')
      expect(usageError('mydata/')).to.equal('invalid branch name "" in "mydata/": must not be empty')
      expect(usageError('a//c')).to.equal('invalid volume name "" in "a//c": must not be empty')
      expect(usageError('-x/trunk')).to.equal('invalid volume name "-x" in "-x/trunk": must not start with "-"')
      expect(usageError('a/b/c/d')).to.equal('invalid reference "a/b/c/d": 3 "/" where at most 2 fit (HOST/VOLUME/BRANCH)')
      expect(usageError('a@b@c')).to.equal('invalid reference "a@b@c": more than one "@"')
      expect(usageError('v1@my/data')).to.equal('invalid volume name "my/data" in "v1@my/data": must not contain "/"')
      expect(usageError('')).to.equal('invalid reference "": it is empty')
      expect(usageError('my data')).to.equal('invalid volume name "my data" in "my data": may contain only letters, digits, "_", "." and "-"')
      expect(usageError('a/b..c')).to.equal('invalid branch name "b..c" in "a/b..c": must not contain ".."')
    })

    it('escapes control characters and bounds long input in messages', () => {
      expect(usageError('my\ndata/trunk')).to.equal('invalid volume name "my\\x0adata" in "my\\x0adata/trunk": may contain only letters, digits, "_", "." and "-"')
      const long = 'x'.repeat(300)
      const message = usageError(`${long}/trunk`)
      expect(message).to.match(/^invalid volume name "x{57}\.\.\." in "x{57}\.\.\.": must be at most 128 characters \(got 300\)$/)
    })

    it('refuses forms the argument does not take, saying what it takes', () => {
      expect(usageError('v1@mydata', ['branch'])).to.equal('invalid reference "v1@mydata": expected a branch (VOLUME/BRANCH), not a tag (TAG@VOLUME)')
      expect(usageError('beta/mydata/trunk', ['branch', 'tag'], {instance: 'alpha'})).to.equal(
        'invalid reference "beta/mydata/trunk": expected a branch (VOLUME/BRANCH) or a tag (TAG@VOLUME), not a remote branch (HOST/VOLUME/BRANCH)',
      )
      expect(usageError('trunk', ['branch', 'remote-branch', 'tag'])).to.equal(
        'invalid reference "trunk": expected a branch (VOLUME/BRANCH), a remote branch (HOST/VOLUME/BRANCH) or a tag (TAG@VOLUME)',
      )
    })

    it('round-trips through formatRef', () => {
      const name = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_-]{0,10}$/)
      const ref: fc.Arbitrary<Ref> = fc.oneof(
        fc.record({kind: fc.constant('volume' as const), volume: name}),
        fc.record({kind: fc.constant('branch' as const), volume: name, branch: name}),
        fc.record({kind: fc.constant('remote-branch' as const), instance: name, volume: name, branch: name}),
        fc.record({kind: fc.constant('tag' as const), volume: name, tag: name}),
      )
      fc.assert(
        fc.property(ref, (r) => {
          const instance = r.kind === 'remote-branch' ? `not-${r.instance}` : 'alpha'
          expect(parseRef(formatRef(r), {accept: ALL, instance})).to.deep.equal(r)
        }),
      )
    })

    it('either parses or throws a usage error, for any text', () => {
      fc.assert(
        fc.property(fc.string({maxLength: 40}), fc.subarray(ALL, {minLength: 1}), (text, accept) => {
          try {
            const ref = parseRef(text, {accept, instance: 'alpha', volume: 'ctx'})
            expect(accept).to.include(ref.kind)
          } catch (err) {
            expect(err).to.be.instanceOf(FvmError)
            expect((err as FvmError).kind).to.equal('usage')
          }
        }),
      )
    })
  })
})
