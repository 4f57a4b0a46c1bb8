// A tiny program that asks through src/ui/prompt.ts, for the terminal tests.
import {FvmError} from '../../src/errors.js'
import {nameProblem} from '../../src/plumbing/names.js'
import {askConfirm, askText} from '../../src/ui/prompt.js'

try {
  if (process.argv[2] === 'confirm') {
    const answer = await askConfirm('Really?', {json: false, hint: 'pass --yes'})
    process.stdout.write(`answer=${answer}\n`)
  } else {
    const answer = await askText('Volume name?', (v) => nameProblem(v) ?? true, {json: false, hint: 'pass the name'})
    process.stdout.write(`answer=${answer}\n`)
  }
} catch (error) {
  if (!(error instanceof FvmError)) throw error
  process.stderr.write(`error: ${error.message}\nhint: ${error.hint}\n`)
  process.exit(error.exitCode)
}
