// The system-tool installer that `npm test` runs first: on a machine that has the
// tools, a second run is a quiet no-op.
import {expect} from 'chai'
import {spawnSync} from 'node:child_process'
import path from 'node:path'
import {needRoot, repoRoot} from '../support/tools.js'

describe('scripts/install-system-tools.sh', () => {
  it('is a quiet no-op when everything is installed', function () {
    needRoot(this)
    const started = Date.now()
    const r = spawnSync('bash', [path.join(repoRoot, 'scripts/install-system-tools.sh')], {encoding: 'utf8'})
    const seconds = (Date.now() - started) / 1000
    expect(r.status, r.stderr).to.equal(0)
    expect(r.stdout + r.stderr).to.equal('')
    expect(seconds, 'a no-op run must not reach apt').to.be.below(5)
  })
})
