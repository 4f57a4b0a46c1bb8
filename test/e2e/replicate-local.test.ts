// push, fetch and pull between instances on this machine (the local transport: the
// other side is an `fvm serve` child), through the built bin/fvm.
import {expect} from 'chai'
import path from 'node:path'
import {withInstance} from '../../src/plumbing/instance-open.js'
import {fvm, snapshotTree} from '../support/cli.js'
import {json, ok, run} from './porcelain-support.js'
import {contentHash, fill, useInstances} from './replicate-support.js'

const KiB = 1024
const MiB = 1024 * KiB
const BLOCK = 64 * KiB

describe('push, fetch and pull (local)', function () {
  this.timeout(120_000)
  const t = useInstances()

  /** alpha with mydata (32 MiB) holding 16 MiB of random data. */
  function alphaWithData(): string {
    const alpha = t.home('alpha')
    ok(alpha, 'volume', 'create', 'mydata', '--size', '32MiB')
    fill(alpha, 'mydata/trunk', 0, 16 * MiB)
    return alpha
  }

  it('pushes a volume whole, then only what changed, then nothing', () => {
    const alpha = alphaWithData()
    const beta = t.home('beta')
    const first = ok(alpha, 'push', beta, 'mydata/trunk')
    expect(first.instance).to.equal('beta')
    expect(first.branches).to.have.length(1)
    expect(first.branches[0]).to.include({branch: 'mydata/trunk', remoteBranch: 'alpha/mydata/trunk', action: 'new', dataBytes: 16 * MiB, resumedFrom: 0})
    expect(contentHash(beta, 'alpha/mydata/trunk')).to.equal(contentHash(alpha, 'mydata/trunk'))

    // 1% of the volume's 512 blocks, scattered.
    const changed = [3, 77, 150, 201, 333]
    for (const block of changed) fill(alpha, 'mydata/trunk', block * BLOCK, BLOCK)
    const second = ok(alpha, 'push', beta)
    const bytes = changed.length * BLOCK
    expect(second.branches[0]).to.include({action: 'fast-forward', dataBytes: bytes})
    expect(second.bytesSent).to.be.at.most(1.05 * bytes + MiB)
    expect(contentHash(beta, 'alpha/mydata/trunk')).to.equal(contentHash(alpha, 'mydata/trunk'))

    const third = ok(alpha, 'push', beta)
    expect(third.branches[0]).to.include({action: 'up-to-date', dataBytes: 0})
  })

  it('sends another instance the whole volume, then each instance what it lacks', () => {
    const alpha = alphaWithData()
    const [beta, gamma] = [t.home('beta'), t.home('gamma')]
    ok(alpha, 'push', beta)
    fill(alpha, 'mydata/trunk', 5 * BLOCK, BLOCK)
    // Pushed to beta only so far: the walk a push does early is against beta's snapshot, not what gamma has (nothing).
    const toGamma = ok(alpha, 'push', gamma)
    expect(toGamma.branches[0]).to.include({action: 'new', base: null, dataBytes: 16 * MiB})
    fill(alpha, 'mydata/trunk', 9 * BLOCK, BLOCK)
    const toBeta = ok(alpha, 'push', beta)
    expect(toBeta.branches[0]).to.include({action: 'fast-forward', dataBytes: 2 * BLOCK})
    expect(contentHash(beta, 'alpha/mydata/trunk')).to.equal(contentHash(alpha, 'mydata/trunk'))
    expect(ok(alpha, 'push', gamma).branches[0]).to.include({action: 'fast-forward', dataBytes: BLOCK})
    expect(contentHash(gamma, 'alpha/mydata/trunk')).to.equal(contentHash(alpha, 'mydata/trunk'))
  })

  it('refuses a push that is not a fast-forward, changing nothing there; --force replaces it, kept in the reflog', () => {
    const alpha = alphaWithData()
    const beta = t.home('beta')
    ok(alpha, 'tag', 'v1@mydata')
    fill(alpha, 'mydata/trunk', 0, BLOCK)
    ok(alpha, 'push', beta, 'mydata')
    const pushedHash = contentHash(beta, 'alpha/mydata/trunk')
    ok(alpha, 'rollback', 'mydata/trunk', 'v1', '--yes')

    const before = snapshotTree(beta)
    const refused = json(alpha, ['push', beta, 'mydata/trunk'], 4)
    expect(refused.branches[0]).to.include({action: 'refused'})
    expect(refused.branches[0].reason).to.match(/not a fast-forward/)
    const text = run(alpha, ['push', beta, 'mydata/trunk'])
    expect(text.status).to.equal(4)
    expect(text.stderr).to.match(/hint: .*--force/)
    expect(snapshotTree(beta)).to.deep.equal(before)

    const forced = ok(alpha, 'push', beta, 'mydata/trunk', '--force')
    expect(forced.branches[0]).to.include({action: 'forced'})
    expect(contentHash(beta, 'alpha/mydata/trunk')).to.equal(contentHash(alpha, 'v1@mydata'))
    const log = ok(beta, 'log', 'alpha/mydata/trunk')
    const entry = log.entries.find((e: {kind: string; action?: string}) => e.kind === 'reflog' && e.action === 'forced')
    expect(entry, JSON.stringify(log.entries)).to.not.equal(undefined)
    // The replaced head keeps its device (gc leaves it) and its content: a branch made from it reads as before.
    ok(beta, 'gc')
    ok(beta, 'branch', 'mydata/rescued', '--from', entry.displaced)
    expect(contentHash(beta, 'mydata/rescued')).to.equal(pushedHash)
  })

  it('--dry-run says what would be sent and changes nothing on either side', () => {
    const alpha = alphaWithData()
    const beta = t.home('beta')
    const [alphaBefore, betaBefore] = [snapshotTree(alpha), snapshotTree(beta)]
    const dry = ok(alpha, 'push', beta, '--dry-run')
    expect(dry.dryRun).to.equal(true)
    expect(dry.branches[0]).to.include({action: 'new', dataBytes: 16 * MiB})
    expect(snapshotTree(alpha)).to.deep.equal(alphaBefore)
    expect(snapshotTree(beta)).to.deep.equal(betaBefore)
  })

  it('keeps the volume\'s uuid and name there; a writable branch can be made of the remote branch', () => {
    const alpha = alphaWithData()
    const beta = t.home('beta')
    ok(alpha, 'push', beta)
    const here = ok(alpha, 'volume', 'info', 'mydata')
    const there = ok(beta, 'volume', 'info', 'mydata')
    expect(there.uuid).to.equal(here.uuid)
    ok(beta, 'branch', 'mydata/mine', '--from', 'alpha/mydata/trunk')
    fill(beta, 'mydata/mine', 0, BLOCK)
    expect(contentHash(beta, 'alpha/mydata/trunk')).to.equal(contentHash(alpha, 'mydata/trunk'))
  })

  it('refuses a volume whose name is taken there by another volume, with a hint; --as receives it under another name', () => {
    const alpha = alphaWithData()
    const beta = t.home('beta')
    ok(beta, 'volume', 'create', 'mydata', '--size', '32MiB')
    const before = snapshotTree(beta)
    const r = json(alpha, ['push', beta, 'mydata'], 4)
    expect(r.error.message).to.match(/volume "mydata" here is .* another volume/)
    expect(r.error.hint).to.match(/--as NAME/)
    expect(snapshotTree(beta)).to.deep.equal(before)
    ok(alpha, 'push', beta, 'mydata', '--as', 'theirs')
    expect(contentHash(beta, 'alpha/theirs/trunk')).to.equal(contentHash(alpha, 'mydata/trunk'))
  })

  it('fetches into a remote branch; pull makes and fast-forwards the local branch, and leaves one with changes of its own', () => {
    const alpha = alphaWithData()
    const beta = t.home('beta')
    const fetched = ok(beta, 'fetch', alpha, 'mydata')
    expect(fetched.branches[0]).to.include({remoteBranch: 'alpha/mydata/trunk', action: 'new'})
    expect(contentHash(beta, 'alpha/mydata/trunk')).to.equal(contentHash(alpha, 'mydata/trunk'))

    const pulled = ok(beta, 'pull', alpha, 'mydata/trunk')
    expect(pulled.branches[0].local).to.deep.equal({branch: 'mydata/trunk', action: 'created'})
    fill(alpha, 'mydata/trunk', 5 * BLOCK, BLOCK)
    const again = ok(beta, 'pull', alpha, 'mydata')
    expect(again.branches[0]).to.include({action: 'fast-forward'})
    expect(again.branches[0].local).to.deep.equal({branch: 'mydata/trunk', action: 'fast-forward'})
    expect(again.bytesReceived).to.be.at.most(BLOCK + MiB)
    expect(contentHash(beta, 'mydata/trunk')).to.equal(contentHash(alpha, 'mydata/trunk'))

    fill(beta, 'mydata/trunk', 9 * BLOCK, BLOCK)
    fill(alpha, 'mydata/trunk', 7 * BLOCK, BLOCK)
    const diverged = json(beta, ['pull', alpha, 'mydata'], 4)
    expect(diverged.branches[0].local).to.deep.equal({branch: 'mydata/trunk', action: 'diverged'})
    expect(contentHash(beta, 'alpha/mydata/trunk')).to.equal(contentHash(alpha, 'mydata/trunk'))
  })

  it('refuses to push to itself and to a missing instance', () => {
    const alpha = alphaWithData()
    const self = json(alpha, ['push', alpha], 4)
    expect(self.error.message).to.match(/lock|this instance/)
    const missing = json(alpha, ['push', `${t.dir}/nowhere`], 3)
    expect(missing.error.message).to.match(/no fvm instance/)
  })

  it('records the branches it delivered when a later one fails', () => {
    const alpha = t.home('alpha')
    for (const [volume, data] of [['a', 8 * MiB], ['b', 96 * MiB]] as const) {
      ok(alpha, 'volume', 'create', volume, '--size', '128MiB')
      fill(alpha, `${volume}/trunk`, 0, data)
    }
    // Room for a, not for b: b's stream fails part-way, after a was published there.
    const beta = path.join(t.dir, 'small')
    expect(fvm(['init', '--home', beta, '--size', '64MiB', '--name', 'small']).status).to.equal(0)
    const failed = json(alpha, ['push', beta], 6)
    expect(failed.error.message).to.match(/space/)
    expect(contentHash(beta, 'alpha/a/trunk')).to.equal(contentHash(alpha, 'a/trunk'))
    const pushed = withInstance({home: alpha}, ({catalog}) => {
      const volumes = Object.values(catalog.committed().value.volumes)
      return Object.fromEntries(volumes.map((v) => [v.name, v.branches.trunk.pushed]))
    })
    expect(Object.keys(pushed.a)).to.deep.equal(['small'])
    expect(pushed.b).to.deep.equal({})
  })
})
