// Where the instance home is: --home, else $FVM_HOME (read by oclif from the flag's
// env), else ~/.fvm. Resolved here so plumbing only ever receives a path.
import * as Flags from '@oclif/core/flags'

export {resolveHome} from './home-dir.js'

export const homeFlag = Flags.string({
  description: 'instance home directory [default: $FVM_HOME, else ~/.fvm]',
  env: 'FVM_HOME',
  helpValue: 'DIR',
})
