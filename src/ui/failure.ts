// Turns anything a command throws into one typed failure: the JSON error object and
// the git-style lines on stderr (`error: ...`, `hint: ...`).
import type {ChalkInstance} from 'chalk'
import {ExitCode, type ExitCodeName, isFvmError} from '../errors.js'
import {colorFor} from './color.js'

export interface Failure {
  kind: ExitCodeName
  exitCode: number
  message: string
  hint?: string
}

interface OclifLikeError extends Error {
  oclif?: {exit?: number}
}

function kindOf(code: number): ExitCodeName {
  const entry = Object.entries(ExitCode).find(([, value]) => value === code)
  return (entry?.[0] as ExitCodeName | undefined) ?? 'failure'
}

export function describeFailure(err: unknown, commandId?: string): Failure {
  if (isFvmError(err)) {
    return {kind: err.kind, exitCode: err.exitCode, message: err.message, ...(err.hint ? {hint: err.hint} : {})}
  }
  const error: OclifLikeError = err instanceof Error ? err : new Error(String(err))
  if (error.name === 'ExitPromptError' || error.name === 'AbortPromptError') {
    return {kind: 'aborted', exitCode: ExitCode.aborted, message: 'aborted at the prompt'}
  }
  if (error.oclif?.exit !== undefined) {
    // oclif's parse errors: one line of what is wrong, lowercased, pointing at --help
    // (it wraps some in "The following error occurred:" and ends with "See more help").
    const lines = error.message.split('\n').map((l) => l.trim())
      .filter((l) => l && !/^the following errors? occurred:?$/i.test(l) && !/^see more help with/i.test(l))
    const text = lines.join(' ').replace(/\s+/g, ' ') || error.message
    const message = text.charAt(0).toLowerCase() + text.slice(1)
    const code = error.oclif.exit
    const help = commandId ? `fvm ${commandId.replaceAll(':', ' ')} --help` : 'fvm --help'
    return {kind: kindOf(code), exitCode: code, message, hint: `see "${help}"`}
  }
  return {kind: 'failure', exitCode: ExitCode.failure, message: error.message || String(err)}
}

export function renderFailure(failure: Failure, chalk: ChalkInstance): string {
  let text = `${chalk.red.bold('error:')} ${failure.message}\n`
  if (failure.hint) text += `${chalk.yellow('hint:')} ${failure.hint}\n`
  return text
}

/** What a failed command does first, in every mode: its exit code, and its stack with FVM_DEBUG. */
export function failed(err: unknown, commandId?: string): Failure {
  const failure = describeFailure(err, commandId)
  process.exitCode = failure.exitCode
  if (process.env.FVM_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`)
  return failure
}

/** The failure's git-style lines on stderr, coloured on a terminal. */
export async function printFailure(failure: Failure): Promise<void> {
  process.stderr.write(renderFailure(failure, await colorFor(process.stderr)))
}
