// Plumbing commands are the stable machine interface: they always speak JSON on
// stdout (results and errors alike), take the pool as --pool DIR and never read a
// default location.
import {Flags} from '@oclif/core'
import {type Failpoint, failpointFromSpec, noFailpoint} from '../dm/pdata/failpoints.js'
import {FvmCommand} from './command.js'

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

/** The engine failpoint named by FVM_FAILPOINT (`name` or `name:N`), for crash tests. */
export function failpointFromEnv(): Failpoint {
  const spec = process.env.FVM_FAILPOINT
  return spec ? failpointFromSpec(spec) : noFailpoint
}
