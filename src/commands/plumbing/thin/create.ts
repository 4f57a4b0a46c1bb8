import * as Args from '@oclif/core/args'
import type {ThinDevice} from '../../../dm/thin/thin-pool.js'
import {createThin, parseDeviceId} from '../../../plumbing/thin.js'
import {PlumbingCommand, failpointFromEnv, poolFlag} from '../../../ui/plumbing-command.js'

export default class ThinCreate extends PlumbingCommand<ThinDevice> {
  static override summary = 'Create an empty thin device'
  static override description = 'Like the kernel\'s create_thin message: a new device with no mappings. ID is 1 to 16777215 and must be free.'
  static override examples = ['<%= config.bin %> <%= command.id %> --pool /tmp/pool 1']
  static override args = {id: Args.string({description: 'the new device id (1-16777215)', required: true})}
  static override flags = {pool: poolFlag}

  public async run(): Promise<ThinDevice> {
    const {args, flags} = await this.parse(ThinCreate)
    return createThin({pool: flags.pool, id: parseDeviceId(args.id), failpoint: await failpointFromEnv()})
  }
}
