// The instance home's path: the flag's value (or $FVM_HOME), else ~/.fvm. Apart from
// the --home flag in home.ts, so `fvm serve` without oclif can resolve it the same way.
import os from 'node:os'
import path from 'node:path'

export function resolveHome(flag: string | undefined): string {
  return path.resolve(flag ?? path.join(os.homedir(), '.fvm'))
}
