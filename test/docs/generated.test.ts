// oclif.manifest.json and man/ are generated and committed; these tests regenerate
// both and fail when the committed copies are stale.
import {expect} from 'chai'
import {execFileSync, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {type Manifest, renderManPages} from '../../scripts/gen-man.js'
import {tempDir} from '../support/cli.js'
import {needTools, repoRoot} from '../support/tools.js'

const oclifBin = path.join(repoRoot, 'node_modules/oclif/bin/run.js')

/** Regenerates the manifest from a copy of the built CLI, optionally edited first. */
function regenerateManifest(edit?: (dist: string) => void): Manifest {
  const root = tempDir('fvm-manifest-')
  try {
    fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(root, 'package.json'))
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'))
    fs.cpSync(path.join(repoRoot, 'dist'), path.join(root, 'dist'), {recursive: true})
    edit?.(path.join(root, 'dist'))
    // cwd too: oclif unlinks ./oclif.manifest.json before generating.
    execFileSync(process.execPath, [oclifBin, 'manifest', root], {cwd: root, stdio: 'pipe'})
    return JSON.parse(fs.readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as Manifest
  } finally {
    fs.rmSync(root, {recursive: true, force: true})
  }
}

function committedManifest(): Manifest {
  return JSON.parse(fs.readFileSync(path.join(repoRoot, 'oclif.manifest.json'), 'utf8')) as Manifest
}

/** The section 1 pages, the ones made from the manifest. */
function committedManPages(): Map<string, string> {
  const dir = path.join(repoRoot, 'man')
  const pages = fs.readdirSync(dir).filter((f) => f.endsWith('.1')).sort()
  return new Map(pages.map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]))
}

const sorted = (pages: Map<string, string>) => new Map([...pages].sort(([a], [b]) => a.localeCompare(b)))
const stale = 'stale: run "npm run build" and commit oclif.manifest.json and man/'

describe('generated docs', function () {
  this.timeout(120_000)
  let fresh: Manifest
  before(() => {
    fresh = regenerateManifest()
  })

  it('oclif.manifest.json is up to date', () => {
    expect(committedManifest(), stale).to.deep.equal(fresh)
  })

  it('man/ is up to date', () => {
    expect(committedManPages(), stale).to.deep.equal(sorted(renderManPages(fresh)))
  })

  it('both checks fail when a command description changes without regenerating', () => {
    const edited = regenerateManifest((dist) => {
      const file = path.join(dist, 'commands/init.js')
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('Create an fvm instance home', 'Create a home, edited'))
    })
    expect(edited).not.to.deep.equal(committedManifest())
    expect(sorted(renderManPages(edited))).not.to.deep.equal(committedManPages())
  })

  it('every command has a page with the required sections, and man renders it', function () {
    needTools(this, 'man')
    for (const [file, text] of committedManPages()) {
      for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'EXIT STATUS', 'SEE ALSO']) {
        expect(text, `${file} lacks ${section}`).to.include(`.SH ${section}`)
      }
      const r = spawnSync('man', ['-l', path.join(repoRoot, 'man', file)], {encoding: 'utf8', env: {...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat'}})
      expect(r.status, r.stderr).to.equal(0)
      expect(r.stdout).to.match(/NAME\s+fvm/)
    }
    expect(committedManPages().get('fvm-init.1')).to.include('.SH OPTIONS').and.include('.SH EXAMPLES')
  })
})
