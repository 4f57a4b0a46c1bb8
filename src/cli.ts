// What bin/fvm.js runs for every command but `--version` and a plain `fvm serve`: oclif,
// from the same bundle as the commands, so both share one copy of it.
import {execute} from '@oclif/core/execute'

/** Runs the command ARGS name (default: this process's arguments). */
export async function run(args?: string[]): Promise<void> {
  await execute({dir: import.meta.url, args})
}
