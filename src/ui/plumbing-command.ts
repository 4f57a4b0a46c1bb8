// Plumbing commands are the stable machine interface: they always speak JSON on
// stdout (results and errors alike), take the pool as --pool DIR and never read a
// default location.
import * as Flags from '@oclif/core/flags'
import {FvmCommand} from './command.js'

export {failpointFromEnv} from './failpoint.js'

export abstract class PlumbingCommand<T extends object | void> extends FvmCommand<T> {
  override jsonEnabled(): boolean {
    return true
  }
}

export const poolFlag = Flags.string({
  description: 'pool directory: the two files "metadata" and "data"',
  helpValue: 'DIR',
  required: true,
})
