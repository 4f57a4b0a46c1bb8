// Builds dist/: every file oclif or bin/fvm.js loads (the start-up entry, each command,
// the hooks) becomes a bundle at its usual place, and code they share goes to
// dist/chunks. A command then loads a few dozen files instead of ~300 modules, which was
// most of fvm's start-up; a library a command imports on first use (prompts, spinners,
// tables) stays in its own chunk until then. `fvm serve`'s fast path, on every
// connection's critical path, is one file of its own. dist/meta.json says which sources
// each file holds (test/e2e/startup.test.ts reads it).
import {type BuildOptions, type Metafile, build} from 'esbuild'
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), {recursive: true, encoding: 'utf8'})
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.join(dir, file))
}

const common = {
  absWorkingDir: root,
  outbase: 'src',
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  metafile: true,
  logLevel: 'warning',
  // oclif requires typescript only to run a plugin from its sources, which a build never does.
  external: ['typescript'],
  // Bundled CommonJS (oclif) calls require() for Node's own modules and JSON.
  banner: {js: "import {createRequire as __fvmCreateRequire} from 'node:module'; const require = __fvmCreateRequire(import.meta.url);"},
} satisfies BuildOptions

fs.rmSync(path.join(root, 'dist'), {recursive: true, force: true})
const cli = await build({
  ...common,
  entryPoints: ['src/cli.ts', 'src/ui/early-dial.ts', 'src/ui/not-found-hook.ts', 'src/ui/completion-hook.ts', ...sourcesUnder('src/commands')].sort(),
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
})
const serve = await build({...common, entryPoints: ['src/ui/serve-fast.ts']})
const merged: Metafile = {inputs: {...cli.metafile.inputs, ...serve.metafile.inputs}, outputs: {...cli.metafile.outputs, ...serve.metafile.outputs}}
fs.writeFileSync(path.join(root, 'dist/meta.json'), JSON.stringify(merged))
