// fvm remote [add|rm|rename|set-url|show] through the built bin/fvm: every address form
// stored canonicalised, JSON shapes, fvm.yaml edited in place, the remote branches of a
// remote's instance, concurrent edits, and bad input refused with its exit code and
// nothing changed.
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {randomUUID} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {parse} from 'yaml'
import {beginReceive, finishReceive} from '../../src/plumbing/catalog/ops-receive.js'
import {setRemoteInstance} from '../../src/plumbing/remotes.js'
import {mutate} from '../../src/plumbing/transaction.js'
import {fvm, fvmBin} from '../support/cli.js'
import {BAD_NAMES, type Json, json, ok, refused, run, useInstance} from './porcelain-support.js'

const VOLUME = {uuid: randomUUID(), name: 'data', size: 2 ** 20}

/** What a completed push from `instance` leaves here: the remote branch instance/data/branch. */
function received(home: string, instance: string, branch: string): void {
  const snapshot = {uuid: randomUUID(), parent: null, created: new Date().toISOString()}
  const request = {instance, volume: VOLUME, branch, snapshot, base: null, expected: null, force: false}
  mutate({home}, (state, context) => beginReceive(state, request, context))
  mutate({home}, (state, context) => finishReceive(state, {snapshot: snapshot.uuid}, context))
}

function yamlOf(home: string): Json {
  return parse(fs.readFileSync(path.join(home, 'fvm.yaml'), 'utf8')) as Json
}

describe('fvm remote (end to end)', function () {
  this.timeout(60_000)
  const t = useInstance()

  it('adds every form of address, stored canonically; lists them (table and array); shows one', () => {
    const empty = run(t.home, ['remote'])
    expect(empty).to.include({status: 0, stdout: ''})
    expect(empty.stderr).to.include('no remotes yet')
    expect(ok(t.home, 'remote')).to.deep.equal([])

    expect(ok(t.home, 'remote', 'add', 'beta', 'alice@beta.example.com:fvm')).to.deep.equal({name: 'beta', url: 'alice@beta.example.com:~/fvm', instance: null})
    const forms: [string, string, string][] = [
      ['gamma', 'ssh://bob@[::1]:2222/srv/fvm/', 'ssh://bob@[::1]:2222/srv/fvm'],
      ['delta', 'ssh://delta.example.com/~/x', 'delta.example.com:~/x'],
      ['epsilon', 'epsilon', 'epsilon'],
      ['zeta', 'file:///srv/my%20fvm', '/srv/my fvm'],
      ['eta', '/srv/eta/', '/srv/eta'],
    ]
    for (const [name, address, url] of forms) expect(ok(t.home, 'remote', 'add', name, address)).to.include({name, url})
    const relative = fvm(['remote', 'add', 'theta', '../other', '--json'], {env: {FVM_HOME: t.home}, cwd: t.dir})
    expect(JSON.parse(relative.stdout)).to.include({url: path.resolve(t.dir, '../other')})
    expect(run(t.home, ['remote', 'add', 'iota', 'ssh://iota:22']).stdout).to.equal('Added remote iota: ssh://iota:22\n')

    const list = ok(t.home, 'remote') as Json[]
    expect(list.map((r) => r.name)).to.deep.equal(['beta', 'delta', 'epsilon', 'eta', 'gamma', 'iota', 'theta', 'zeta'])
    expect(list[0]).to.deep.equal({name: 'beta', url: 'alice@beta.example.com:~/fvm', instance: null})
    const table = run(t.home, ['remote']).stdout.split('\n')
    expect(table[0].split(/\s+/)).to.deep.equal(['NAME', 'URL', 'INSTANCE'])
    expect(table[1].split(/\s+/)).to.deep.equal(['beta', 'alice@beta.example.com:~/fvm', '-'])

    expect(ok(t.home, 'remote', 'show', 'beta')).to.deep.equal({
      name: 'beta',
      url: 'alice@beta.example.com:~/fvm',
      instance: null,
      address: {kind: 'ssh', host: 'beta.example.com', user: 'alice', home: 'fvm'},
      remoteBranches: [],
    })
    expect(ok(t.home, 'remote', 'show', 'gamma').address).to.deep.equal({kind: 'ssh', host: '::1', user: 'bob', port: 2222, home: '/srv/fvm'})
    expect(ok(t.home, 'remote', 'show', 'zeta').address).to.deep.equal({kind: 'local', home: '/srv/my fvm'})
    expect(run(t.home, ['remote', 'show', 'gamma']).stdout).to.equal(
      'remote gamma\n' +
        '  url             ssh://bob@[::1]:2222/srv/fvm\n' +
        '  transport       ssh, host ::1, user bob, port 2222, home /srv/fvm\n' +
        '  instance        not known until the first push or pull\n' +
        '  remote branches -\n',
    )

    const file = path.join(t.home, 'fvm.yaml')
    expect(fs.statSync(file).mode & 0o777).to.equal(0o600)
    expect(Object.keys(yamlOf(t.home).remotes)).to.deep.equal(list.map((r) => r.name))
    expect(yamlOf(t.home).remotes.beta).to.deep.equal({url: 'alice@beta.example.com:~/fvm'})
  })

  it('edits fvm.yaml in place: comments and a quota as written stay, and removing the last remote gives the file back', () => {
    const file = path.join(t.home, 'fvm.yaml')
    fs.appendFileSync(file, '# our limit\nquota: 1GiB # for now\n')
    const before = fs.readFileSync(file, 'utf8')
    ok(t.home, 'remote', 'add', 'beta', 'beta')
    ok(t.home, 'remote', 'add', 'gamma', 'gamma')
    const text = fs.readFileSync(file, 'utf8')
    expect(text).to.match(/^# fvm instance; see "man fvm"\n/).and.include('# our limit\nquota: 1GiB # for now\n')
    ok(t.home, 'remote', 'rm', 'beta')
    ok(t.home, 'remote', 'rm', 'gamma')
    expect(fs.readFileSync(file, 'utf8')).to.equal(before)
    expect(fs.readdirSync(t.home).sort()).to.deep.equal(['fvm.yaml', 'pool'])
  })

  it('reads remotes written by hand: a bad address fails where it is used (set-url fixes it), a malformed entry is corrupt', () => {
    const file = path.join(t.home, 'fvm.yaml')
    const original = fs.readFileSync(file, 'utf8')
    fs.writeFileSync(file, `${original}remotes:\n  beta:\n    url: "-oProxyCommand=x"\n  near:\n    url: ../near\n`)
    expect((ok(t.home, 'remote') as Json[]).map((r) => r.url)).to.deep.equal(['-oProxyCommand=x', '../near'])
    const {error} = json(t.home, ['remote', 'show', 'beta'], 5)
    expect(error.message).to.equal(`"${file}": remote "beta": invalid remote address "-oProxyCommand=x": must not start with "-"`)
    expect(error.hint).to.equal('fix it with "fvm remote set-url beta ADDRESS"')
    expect(ok(t.home, 'remote', 'show', 'near').address).to.deep.equal({kind: 'local', home: path.resolve(t.home, '../near')})
    ok(t.home, 'remote', 'set-url', 'beta', 'beta')
    expect(ok(t.home, 'remote', 'show', 'beta').url).to.equal('beta')

    const malformed: [string, string][] = [
      ['remotes: [a]', 'remotes must map names to {url: ADDRESS}'],
      ['remotes:\n  ../x:\n    url: h', 'remote name "../x" must not contain "/"'],
      ['remotes:\n  b: {}', 'remote "b": url missing'],
      ['remotes:\n  b: {url: h, instance: "a b"}', 'remote "b": instance name invalid'],
    ]
    for (const [remotes, problem] of malformed) {
      fs.writeFileSync(file, `${original}${remotes}\n`)
      expect(json(t.home, ['remote'], 5).error.message).to.equal(`"${file}": ${problem}`)
    }
    fs.writeFileSync(file, original)
  })

  it('renames, changes the address of, and removes a remote', () => {
    ok(t.home, 'remote', 'add', 'beta', 'beta.example.com')
    expect(ok(t.home, 'remote', 'rename', 'beta', 'backup')).to.deep.equal({from: 'beta', to: 'backup'})
    expect(run(t.home, ['remote', 'rename', 'backup', 'b2']).stdout).to.equal('Renamed remote backup to b2\n')
    expect((ok(t.home, 'remote') as Json[]).map((r) => r.name)).to.deep.equal(['b2'])
    expect(ok(t.home, 'remote', 'set-url', 'b2', 'ssh://alice@beta2.example.com:2222/srv')).to.deep.equal({
      name: 'b2',
      url: 'ssh://alice@beta2.example.com:2222/srv',
      instance: null,
      previousUrl: 'beta.example.com',
    })
    expect(run(t.home, ['remote', 'set-url', 'b2', 'beta:x']).stdout).to.equal('Remote b2: beta:~/x (was ssh://alice@beta2.example.com:2222/srv)\n')
    expect(ok(t.home, 'remote', 'rm', 'b2')).to.deep.equal({name: 'b2', url: 'beta:~/x', instance: null})
    ok(t.home, 'remote', 'add', 'b3', 'b3')
    expect(run(t.home, ['remote', 'rm', 'b3']).stdout).to.equal('Removed remote b3 (b3)\n')
    expect(ok(t.home, 'remote')).to.deep.equal([])
    expect(yamlOf(t.home)).to.not.have.property('remotes')
  })

  it('shows the remote branches of the remote\'s instance once known; a new address forgets the instance', () => {
    ok(t.home, 'remote', 'add', 'beta', 'beta.example.com')
    received(t.home, 'beta', 'trunk')
    received(t.home, 'beta', 'dev')
    received(t.home, 'gamma', 'trunk')
    expect(ok(t.home, 'remote', 'show', 'beta')).to.include({instance: null}).and.to.have.property('remoteBranches').that.deep.equals([])

    expect(setRemoteInstance(t.home, 'beta', 'beta')).to.deep.equal({name: 'beta', url: 'beta.example.com', instance: 'beta'})
    const shown = ok(t.home, 'remote', 'show', 'beta')
    expect(shown.instance).to.equal('beta')
    expect((shown.remoteBranches as Json[]).map((b) => b.remoteBranch)).to.deep.equal(['beta/data/dev', 'beta/data/trunk'])
    expect(Object.keys(shown.remoteBranches[0]).sort()).to.deep.equal(['created', 'device', 'instance', 'name', 'remoteBranch', 'snapshot', 'volume'])
    expect(run(t.home, ['remote', 'show', 'beta']).stdout).to.include('  instance        beta\n  remote branches beta/data/dev, beta/data/trunk\n')
    expect(run(t.home, ['remote']).stdout.split('\n')[1].split(/\s+/)).to.deep.equal(['beta', 'beta.example.com', 'beta'])

    // The instance, not the remote's name, names the remote branches: renaming keeps them.
    ok(t.home, 'remote', 'rename', 'beta', 'b')
    expect(ok(t.home, 'remote', 'show', 'b').remoteBranches).to.have.length(2)
    expect(ok(t.home, 'remote', 'set-url', 'b', 'ssh://beta.example.com')).to.include({url: 'beta.example.com', instance: 'beta'})
    expect(ok(t.home, 'remote', 'set-url', 'b', 'elsewhere')).to.include({url: 'elsewhere', instance: null})
    expect(ok(t.home, 'remote', 'show', 'b').remoteBranches).to.deep.equal([])

    expect(() => setRemoteInstance(t.home, 'b', 'alpha')).to.throw('remote "b" is instance "alpha": that is this instance')
    expect(() => setRemoteInstance(t.home, 'nope', 'beta')).to.throw('remote "nope" does not exist')
    expect(() => setRemoteInstance(t.home, 'b', '../x')).to.throw(/^invalid instance name/)
  })

  it('refuses bad names, leaving the home as it was', () => {
    ok(t.home, 'remote', 'add', 'beta', 'beta.example.com')
    for (const [name] of [...BAD_NAMES, ['a/b', 'a slash']]) refused(t.home, ['remote', 'add', '--', name, 'host'], 2, /^invalid remote name /)
    expect(refused(t.home, ['remote', 'add', '--', 'x'.repeat(300), 'h'], 2, /must be at most 128 characters/).message).to.include('...')
    for (const args of [['rm', '../x'], ['show', 'a/b'], ['rename', '../x', 'y'], ['rename', 'beta', 'a/b'], ['set-url', '--', '-x', 'host']]) {
      refused(t.home, ['remote', ...args], 2, /^invalid remote name /)
    }
  })

  it('refuses bad addresses (injections into ssh above all), leaving the home as it was', () => {
    ok(t.home, 'remote', 'add', 'beta', 'beta.example.com')
    const badAddresses: [string, RegExp][] = [
      ['-oProxyCommand=touch /tmp/owned', /: must not start with "-"$/],
      ['host:-x', /: home "-x" must not start with "-"$/],
      ['ssh://-x', /: invalid host name "-x"/],
      ['ssh://-l@host', /: invalid user name "-l"/],
      ['ssh://h:0', /: invalid port "0"/],
      ['ssh://h:65536', /: invalid port "65536"/],
      ['ssh://h:22x', /: invalid port "22x"/],
      ['host:x\ny', /: must not contain control characters$/],
      ['http://h/x', /: unsupported transport "http"$/],
      ['', /: must not be empty$/],
      ['$(reboot)', /: invalid host name/],
    ]
    for (const [address, why] of badAddresses) {
      const error = refused(t.home, ['remote', 'add', '--', 'delta', address], 2, why)
      expect(error.message).to.match(/^invalid remote address "/)
      expect(error.hint).to.match(/^use ssh:\/\/\[user@\]host\[:port\]\[\/path\], /)
    }
    for (const [address, why] of badAddresses.slice(0, 3)) refused(t.home, ['remote', 'set-url', '--', 'beta', address], 2, why)
  })

  it('refuses duplicates, unknown remotes and missing arguments without a terminal, leaving the home as it was', () => {
    ok(t.home, 'remote', 'add', 'beta', 'beta.example.com')
    ok(t.home, 'remote', 'add', 'gamma', 'gamma.example.com')
    const duplicate = refused(t.home, ['remote', 'add', 'beta', 'other'], 4, /^remote "beta" already exists$/)
    expect(duplicate.hint).to.equal('it is beta.example.com: change that with "fvm remote set-url beta ADDRESS", or first "fvm remote rm beta"')
    refused(t.home, ['remote', 'rename', 'beta', 'gamma'], 4, /^remote "gamma" already exists$/)
    refused(t.home, ['remote', 'rename', 'beta', 'beta'], 4, /^remote "beta" already exists$/)

    for (const args of [['rm', 'nope'], ['show', 'nope'], ['rename', 'nope', 'x'], ['set-url', 'nope', 'host']]) {
      const error = refused(t.home, ['remote', ...args], 3, /^remote "nope" does not exist$/)
      expect(error.hint).to.equal('list the remotes with "fvm remote"')
    }

    expect(refused(t.home, ['remote', 'rm'], 2, /^cannot ask "Remote to remove:": not a terminal$/).hint).to.equal('name it: fvm remote rm NAME')
    expect(refused(t.home, ['remote', 'add'], 2, /^cannot ask "Name of the remote:": not a terminal$/).hint).to.equal('name both: fvm remote add NAME ADDRESS')
    refused(t.home, ['remote', 'add', 'delta'], 2, /^cannot ask "Address of delta:": not a terminal$/)
    refused(t.home, ['remote', 'set-url', 'beta'], 2, /^cannot ask "New address of beta:": not a terminal$/)
    refused(t.home, ['remote', 'rename', 'beta'], 2, /^cannot ask "New name for beta:": not a terminal$/)
    refused(t.home, ['remote', 'show'], 2, /^cannot ask "Remote:": not a terminal$/)

    const nowhere = path.join(t.dir, 'nowhere')
    for (const args of [['remote'], ['remote', 'add', 'x', 'h'], ['remote', 'show', 'x']]) {
      const r = fvm([...args, '--home', nowhere])
      expect(r.status, args.join(' ')).to.equal(3)
      expect(r.stderr).to.include(`error: no fvm instance at "${nowhere}"`)
    }
    expect(fs.existsSync(nowhere)).to.equal(false)
  })

  it('concurrent changes never lose one another: each either lands or is refused as busy', async () => {
    const names = Array.from({length: 8}, (_, i) => `r${i}`)
    const statuses = await Promise.all(names.map((name) => new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, [fvmBin, 'remote', 'add', name, `${name}.example.com`], {env: {...process.env, FVM_HOME: t.home}, stdio: 'ignore'})
      child.on('error', reject)
      child.on('exit', (code) => resolve(code ?? -1))
    })))
    for (const status of statuses) expect([0, 4]).to.include(status)
    const landed = names.filter((_, i) => statuses[i] === 0)
    expect(landed).to.not.be.empty
    expect((ok(t.home, 'remote') as Json[]).map((r) => r.name)).to.deep.equal(landed)
  })
})
