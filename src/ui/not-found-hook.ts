// An unknown command only suggests; it never runs the guess (a typo must not become
// `rollback`). Exits with the usage code.
import type {Hook} from '@oclif/core'
import {ExitCode} from '../errors.js'
import {colorFor} from './color.js'
import {renderFailure} from './failure.js'

function distance(a: string, b: string): number {
  const row = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]
}

const hook: Hook.CommandNotFound = async function (opts) {
  const typed = opts.id.replaceAll(':', ' ')
  const ids = opts.config.commandIDs.map((id) => id.replaceAll(':', ' '))
  const best = ids
    .map((id) => ({id, d: distance(typed, id)}))
    .sort((a, b) => a.d - b.d)
    .find((c) => c.d <= Math.max(2, Math.floor(typed.length / 3)))
  const hint = best ? `did you mean "fvm ${best.id}"?` : 'see "fvm --help" for the list of commands'
  process.stderr.write(renderFailure(
    {kind: 'usage', exitCode: ExitCode.usage, message: `"${typed}" is not an fvm command`, hint},
    await colorFor(process.stderr),
  ))
  process.exit(ExitCode.usage)
}

export default hook
