// Remote addresses: every accepted form, refusals (argument injection into ssh above
// all), the canonical form, the ssh argv (checked by the real ssh -G) and the quoting
// of the remote command (checked by real shells).
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import fc from 'fast-check'
import {
  type RemoteAddress,
  type SshAddress,
  formatRemoteAddress,
  parseRemoteAddress,
  splitCommandLine,
  sshArgv,
} from '../../src/plumbing/transport/address.js'
import {needTools} from '../support/tools.js'

const where = {cwd: '/work/here', userHome: '/home/me'}
const parse = (text: string): RemoteAddress => parseRemoteAddress(text, where)

function refusal(run: () => unknown): {message: string; hint?: string; exitCode: number} {
  try {
    run()
  } catch (error) {
    return error as {message: string; hint?: string; exitCode: number}
  }
  return expect.fail('accepted')
}

describe('remote addresses', () => {
  const good: [string, RemoteAddress, string][] = [
    // a bare host name, with or without a user: ssh, the remote's default home
    ['beta', {kind: 'ssh', host: 'beta'}, 'beta'],
    ['beta.example.com', {kind: 'ssh', host: 'beta.example.com'}, 'beta.example.com'],
    ['my_alias', {kind: 'ssh', host: 'my_alias'}, 'my_alias'],
    ['alice@beta', {kind: 'ssh', host: 'beta', user: 'alice'}, 'alice@beta'],
    ['[::1]', {kind: 'ssh', host: '::1'}, '[::1]'],
    // scp-like
    ['beta:', {kind: 'ssh', host: 'beta'}, 'beta'],
    ['beta:fvm', {kind: 'ssh', host: 'beta', home: 'fvm'}, 'beta:~/fvm'],
    ['beta:~/fvm/', {kind: 'ssh', host: 'beta', home: 'fvm'}, 'beta:~/fvm'],
    ['beta:~', {kind: 'ssh', host: 'beta', home: '.'}, 'beta:~'],
    ['beta:~/', {kind: 'ssh', host: 'beta', home: '.'}, 'beta:~'],
    ['beta:../x', {kind: 'ssh', host: 'beta', home: '../x'}, 'beta:~/../x'],
    ['beta:/srv//fvm/./x/', {kind: 'ssh', host: 'beta', home: '/srv/fvm/x'}, 'beta:/srv/fvm/x'],
    ['alice@beta:/srv/a b', {kind: 'ssh', host: 'beta', user: 'alice', home: '/srv/a b'}, 'alice@beta:/srv/a b'],
    ['beta:/x@y:z', {kind: 'ssh', host: 'beta', home: '/x@y:z'}, 'beta:/x@y:z'],
    ['bob@[2001:db8::1]:x', {kind: 'ssh', host: '2001:db8::1', user: 'bob', home: 'x'}, 'bob@[2001:db8::1]:~/x'],
    ['_svc.1@h-1.b:/$HOME', {kind: 'ssh', host: 'h-1.b', user: '_svc.1', home: '/$HOME'}, '_svc.1@h-1.b:/$HOME'],
    // ssh URLs
    ['ssh://beta', {kind: 'ssh', host: 'beta'}, 'beta'],
    ['SSH://beta/', {kind: 'ssh', host: 'beta', home: '/'}, 'beta:/'],
    ['ssh://alice@beta:2222/srv/fvm', {kind: 'ssh', host: 'beta', user: 'alice', port: 2222, home: '/srv/fvm'}, 'ssh://alice@beta:2222/srv/fvm'],
    ['ssh://beta:22/~/x', {kind: 'ssh', host: 'beta', port: 22, home: 'x'}, 'ssh://beta:22/~/x'],
    ['ssh://beta:65535/~', {kind: 'ssh', host: 'beta', port: 65535, home: '.'}, 'ssh://beta:65535/~'],
    ['ssh://beta/~/x', {kind: 'ssh', host: 'beta', home: 'x'}, 'beta:~/x'],
    ['ssh://beta/a:b', {kind: 'ssh', host: 'beta', home: '/a:b'}, 'beta:/a:b'],
    ['ssh://[::1]:2222/srv', {kind: 'ssh', host: '::1', port: 2222, home: '/srv'}, 'ssh://[::1]:2222/srv'],
    ['ssh://[::1]', {kind: 'ssh', host: '::1'}, '[::1]'],
    ['ssh://file/x', {kind: 'ssh', host: 'file', home: '/x'}, 'ssh://file/x'],
    ['ssh://beta:2//~x', {kind: 'ssh', host: 'beta', port: 2, home: '/~x'}, 'ssh://beta:2//~x'],
    ['beta:/~x', {kind: 'ssh', host: 'beta', home: '/~x'}, 'beta:/~x'],
    // local instances
    ['/srv/fvm', {kind: 'local', home: '/srv/fvm'}, '/srv/fvm'],
    ['/srv/fvm/', {kind: 'local', home: '/srv/fvm'}, '/srv/fvm'],
    ['./other', {kind: 'local', home: '/work/here/other'}, '/work/here/other'],
    ['../other', {kind: 'local', home: '/work/other'}, '/work/other'],
    ['.', {kind: 'local', home: '/work/here'}, '/work/here'],
    ['..', {kind: 'local', home: '/work'}, '/work'],
    ['a/b', {kind: 'local', home: '/work/here/a/b'}, '/work/here/a/b'],
    ['./a:b', {kind: 'local', home: '/work/here/a:b'}, '/work/here/a:b'],
    ['~', {kind: 'local', home: '/home/me'}, '/home/me'],
    ['~/fvm', {kind: 'local', home: '/home/me/fvm'}, '/home/me/fvm'],
    ['file:///srv/fvm', {kind: 'local', home: '/srv/fvm'}, '/srv/fvm'],
    ['file:///srv/my%20fvm/../x', {kind: 'local', home: '/srv/x'}, '/srv/x'],
    ['FILE://localhost/srv', {kind: 'local', home: '/srv'}, '/srv'],
  ]
  for (const [text, address, canonical] of good) {
    it(`reads ${JSON.stringify(text)} and writes it ${JSON.stringify(canonical)}`, () => {
      expect(parse(text)).to.deep.equal(address)
      expect(formatRemoteAddress(address)).to.equal(canonical)
      expect(parse(canonical)).to.deep.equal(address)
    })
  }

  const bad: [string, RegExp][] = [
    ['', /: must not be empty$/],
    // argument injection into ssh: nothing may start with "-"
    ['-oProxyCommand=touch /tmp/x', /: must not start with "-"$/],
    ['-l', /: must not start with "-"$/],
    ['ssh://-oProxyCommand=x/y', /: invalid host name "-oProxyCommand=x"/],
    ['ssh://-x', /: invalid host name "-x"/],
    ['a@-oProxyCommand=x', /: invalid host name "-oProxyCommand=x"/],
    ['a@-x:y', /: invalid host name "-x"/],
    ['ssh://-l@host', /: invalid user name "-l"/],
    ['ssh://a@-p/x', /: invalid host name "-p"/],
    ['host:-x', /: home "-x" must not start with "-"$/],
    ['host:~/-x', /: home "-x" must not start with "-"$/],
    ['host:x/../-y', /: home "-y" must not start with "-"$/],
    // shell and line breaks
    ['host:x\ny', /: must not contain control characters$/],
    ['ssh://host/x\ny', /: must not contain control characters$/],
    ['host\r', /: must not contain control characters$/],
    ['file:///a%0Ab', /: the home path must not contain control characters$/],
    ['$(reboot)', /: invalid host name "\$\(reboot\)"/],
    ['`id`:x', /: invalid host name "`id`"/],
    ['ho;st', /: invalid host name "ho;st"/],
    ['host name', /: invalid host name "host name"/],
    ['.hidden', /: invalid host name ".hidden"/],
    ['h'.repeat(254), /: host name must be at most 253 characters$/],
    // users
    ['@host', /: invalid user name ""/],
    ['a b@host', /: invalid user name "a b"/],
    ['1a@host', /: invalid user name "1a"/],
    [`${'u'.repeat(65)}@host`, /: invalid user name/],
    // ports
    ['ssh://host:0', /: invalid port "0": it must be a number from 1 to 65535$/],
    ['ssh://host:65536', /: invalid port "65536"/],
    ['ssh://host:22x', /: invalid port "22x"/],
    ['ssh://host:022', /: invalid port "022"/],
    ['ssh://host:/x', /: invalid port ""/],
    ['ssh://host:22:33', /: invalid port "22:33"/],
    ['ssh://host:-1', /: invalid port "-1"/],
    // structure
    ['ssh://', /: the host name is missing$/],
    ['ssh://alice@', /: the host name is missing$/],
    ['ssh:///srv', /: the host name is missing$/],
    [':x', /: the host name is missing$/],
    ['[::1', /: "\[::1" is not an IPv6 address in brackets$/],
    ['[nothex]:x', /: "\[nothex\]" is not an IPv6 address in brackets$/],
    ['[::1]x', /: unexpected "x" after host "::1"$/],
    ['ssh://[::1]x/y', /: unexpected "x" after host "::1"$/],
    ['http://host/x', /: unsupported transport "http"$/],
    ['git+ssh://host/x', /: unsupported transport "git\+ssh"$/],
    ['file://host/x', /: not a local file URL .*: use file:\/\/\/path$/],
    ['file:///a%2Fb', /: not a local file URL/],
    ['file:relative', /: a file URL needs three slashes: file:\/\/\/path$/],
    ['file:/abs', /: a file URL needs three slashes/],
    // homes that cannot be written for the remote side
    ['host:~bob/x', /: "~bob" \(another user's home\) is not supported: give the full path$/],
    ['ssh://host/~bob', /: "~bob" \(another user's home\) is not supported/],
    ['~bob/x', /: "~bob" \(another user's home\) is not supported/],
  ]
  for (const [text, why] of bad) {
    it(`refuses ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text)} (usage, with the accepted forms)`, () => {
      const e = refusal(() => parse(text))
      expect(e.exitCode).to.equal(2)
      expect(e.message).to.match(/^invalid remote address ".*": /).and.match(why)
      expect(e.hint).to.equal('use ssh://[user@]host[:port][/path], [user@]host:path, a host name, file:///path, or a path such as ./other')
    })
  }

  it('refuses "~" without the user\'s home, and shows control characters escaped', () => {
    expect(refusal(() => parseRemoteAddress('~/x', {cwd: '/'})).message).to.equal('invalid remote address "~/x": "~" cannot be expanded here: give the full path')
    expect(refusal(() => parse('a\nb')).message).to.equal('invalid remote address "a\\x0ab": must not contain control characters')
  })

  it('writes any address in a form that reads back as the same address', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9 _.~:@#'"$`!*\\-]{1,8}$/).filter((s) => s !== '.' && s !== '..')
    const relative = fc.array(segment, {minLength: 1, maxLength: 3}).map((s) => s.join('/')).filter((h) => !h.startsWith('-'))
    const home = fc.oneof(relative, relative.map((h) => `/${h}`), fc.constant('.'), fc.constant('/'))
    const host = fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,20}$/), fc.constantFrom('::1', '2001:db8::1', 'fe80::1', 'file', 'FILE'))
    const address: fc.Arbitrary<SshAddress> = fc.record(
      {kind: fc.constant('ssh' as const), host, user: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,10}$/), port: fc.integer({min: 1, max: 65535}), home},
      {requiredKeys: ['kind', 'host']},
    )
    fc.assert(fc.property(address, (a) => {
      expect(parse(formatRemoteAddress(a))).to.deep.equal(a)
    }), {numRuns: 2000})
  })
})

describe('ssh command lines', () => {
  it('puts port and user as options before "--", then the host, then the remote command as one string', () => {
    const command: [string, ...string[]] = ['fvm', 'serve', '--home', '/srv/fvm']
    expect(sshArgv({kind: 'ssh', host: 'beta'}, ['ssh'], command)).to.deep.equal(['ssh', '--', 'beta', "'fvm' 'serve' '--home' '/srv/fvm'"])
    expect(sshArgv({kind: 'ssh', host: '::1', user: 'alice', port: 2222}, ['ssh', '-F', '/my cfg'], ['fvm', "it's", ''])).to.deep.equal(
      ['ssh', '-F', '/my cfg', '-p', '2222', '-l', 'alice', '--', '::1', "'fvm' 'it'\\''s' ''"],
    )
  })

  it('is read by OpenSSH as meant (ssh -G)', function () {
    needTools(this, 'ssh')
    const cases: [SshAddress, Record<string, string>][] = [
      [parse('ssh://alice@beta.example.com:2222/srv') as SshAddress, {hostname: 'beta.example.com', user: 'alice', port: '2222'}],
      [parse('bob@[::1]:x') as SshAddress, {hostname: '::1', user: 'bob', port: '22'}],
      [parse('my_alias') as SshAddress, {hostname: 'my_alias', port: '22'}],
    ]
    for (const [address, expected] of cases) {
      const [ssh, ...args] = sshArgv(address, ['ssh', '-G', '-F', '/dev/null'], ['fvm', 'serve'])
      const r = spawnSync(ssh, args, {encoding: 'utf8'})
      expect(r.status, r.stderr).to.equal(0)
      const config = Object.fromEntries(r.stdout.split('\n').map((line) => line.split(' ')).map(([k, ...v]) => [k, v.join(' ')]))
      expect(config).to.include(expected)
    }
  })

  const awkward = ['plain', 'two words', '', "it's", '"double"', '$HOME', '`id`', '$(id)', 'a\\b', 'new\nline', "'", "''", '*', '!', ';', '|&', '~', 'ünï', ' lead', 'tab\there']

  for (const shell of ['sh', 'bash', 'dash']) {
    it(`quotes every argument so ${shell} gives it back unchanged`, function () {
      needTools(this, shell)
      const check = (args: string[]) => {
        const line = sshArgv({kind: 'ssh', host: 'h'}, ['ssh'], ['printf', '%s\\0', ...args]).at(-1)!
        const r = spawnSync(shell, ['-c', line], {encoding: 'utf8'})
        expect(r.status, r.stderr).to.equal(0)
        expect(r.stdout.split('\0').slice(0, -1)).to.deep.equal(args)
      }
      check(awkward)
      fc.assert(fc.property(fc.array(fc.string({unit: 'binary'}).map((s) => s.replaceAll('\0', '')), {minLength: 1, maxLength: 5}), (args) => check(args)), {numRuns: 25})
    })
  }

  it('splits FVM_SSH-like command lines as sh would, without expansions', () => {
    const cases: [string, string[]][] = [
      ['ssh', ['ssh']],
      ['  ssh   -v  ', ['ssh', '-v']],
      ['ssh -F "/my dir/cfg" -o \'ProxyJump=a b\'', ['ssh', '-F', '/my dir/cfg', '-o', 'ProxyJump=a b']],
      ['a\\ b', ['a b']],
      ['"a\\"b" \'a\\b\'', ['a"b', 'a\\b']],
      ['"\\$x \\n"', ['$x \\n']],
      ['x""y \'\'', ['xy', '']],
      ['$HOME `id`', ['$HOME', '`id`']],
      ['a\tb\nc', ['a', 'b', 'c']],
    ]
    for (const [text, words] of cases) expect(splitCommandLine(text), text).to.deep.equal(words)
  })

  it('refuses unbalanced quotes, a trailing backslash and no command', () => {
    const bad: [string, string][] = [
      ["ssh -o 'x", 'unbalanced single quote'],
      ['ssh "x', 'unbalanced double quote'],
      ['ssh "x\\"', 'unbalanced double quote'],
      ['ssh \\', 'it ends with "\\"'],
      ['', 'no command'],
      ['  ', 'no command'],
    ]
    for (const [text, problem] of bad) {
      const e = refusal(() => splitCommandLine(text, 'FVM_SSH'))
      expect(e.exitCode).to.equal(2)
      expect(e.message).to.match(/^invalid FVM_SSH ".*": /).and.include(problem)
    }
  })
})
