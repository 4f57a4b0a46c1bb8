// What bin/fvm.js runs for every command but `--version` and a plain `fvm serve`: oclif,
// from the same bundle as the commands, so both share one copy of it.
import {execute} from '@oclif/core/execute'

export async function run(): Promise<void> {
  await execute({dir: import.meta.url})
}
