// Turns anything a command throws into one typed failure: the JSON error object and
// the git-style lines on stderr (`error: ...`, `hint: ...`).
import type {ChalkInstance} from 'chalk'
import {ExitCode, type ExitCodeName, isFvmError} from '../errors.js'

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
    // oclif's parse errors: keep the first line, lowercased, and point at --help.
    const [first] = error.message.split('\n')
    const message = first.charAt(0).toLowerCase() + first.slice(1)
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
