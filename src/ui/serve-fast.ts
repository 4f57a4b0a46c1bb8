// `fvm serve` as push, pull and fetch start it, without loading oclif: its start-up is
// on every connection's critical path. Only what a client or a forced command passes
// (--home DIR, --home=DIR, --read-only) is taken here; anything else (--help, --json,
// a repeated --home, a value oclif would read as a flag) goes through oclif as before.
import {failed, printFailure} from './failure.js'
import {type ServeFlags, serveStdio} from './serve-stdio.js'

/** The flags oclif would parse from ARGS (after "serve"), if they are that plain. */
export function plainServeFlags(args: string[], env: NodeJS.ProcessEnv = process.env): ServeFlags | undefined {
  // oclif reports errors as JSON on stdout when FVM_CONTENT_TYPE=json.
  if (env.FVM_CONTENT_TYPE !== undefined) return undefined
  let home: string | undefined
  let readOnly = false
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === '--read-only') {
      readOnly = true
      continue
    }
    const value = arg === '--home' ? args[++i] : arg.startsWith('--home=') ? arg.slice('--home='.length) : undefined
    if (value === undefined || value === '' || value.startsWith('-') || home !== undefined) return undefined
    home = value
  }
  // oclif reads the flag's env only when it is not empty.
  return {home: home ?? (env.FVM_HOME || undefined), readOnly}
}

/** Serves when ARGS are plain, exiting as oclif would on a failure; false when oclif must parse them. */
export async function serveFast(args: string[]): Promise<boolean> {
  const flags = plainServeFlags(args)
  if (flags === undefined) return false
  try {
    await serveStdio(flags)
  } catch (error) {
    const failure = failed(error, 'serve')
    await printFailure(failure)
    process.exit(failure.exitCode)
  }
  return true
}
