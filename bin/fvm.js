#!/usr/bin/env node
// `fvm --version`, and `fvm serve` as push, pull and fetch start it, answer without
// loading the command framework: scripts that probe the version stay cheap, and every
// connection starts sooner. push, pull and fetch start their connection before it loads.
// Everything else goes through oclif. dist/ is a bundle (scripts/bundle.ts).
import {setFlagsFromString} from 'node:v8'

// V8 tunes when to optimize a function for long-lived servers. An fvm command lives for
// a second or so, and optimizing its functions on V8's helper threads took ~100 ms of
// CPU per push on each side (a tenth of this 2-core machine's capacity) for code that
// was about to end. Four times the budget leaves that to the long runs (a full push)
// that make up for it; tested 2x-8x: pushes of 1% of 4 GiB -6%, a full push unchanged.
setFlagsFromString('--interrupt-budget=270336')
const args = process.argv.slice(2)
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  const {readFileSync} = await import('node:fs')
  const {version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`fvm/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
} else {
  const served = args[0] === 'serve' && (await (await import('../dist/ui/serve-fast.js')).serveFast(args.slice(1)))
  // The commands that reach another instance start ssh before oclif loads (src/ui/early-dial.ts).
  const early = ['push', 'pull', 'fetch'].includes(args[0]) ? await import('../dist/ui/early-dial.js') : undefined
  await early?.dialEarly(args)
  try {
    if (!served) await (await import('../dist/cli.js')).run()
  } finally {
    early?.dropEarlyConnection()
  }
}
