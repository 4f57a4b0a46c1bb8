import * as Args from '@oclif/core/args'
import type {ThinDevice} from '../../../dm/thin/thin-pool.js'
import {parseDeviceId, snapThin} from '../../../plumbing/thin.js'
import {PlumbingCommand, failpointFromEnv, poolFlag} from '../../../ui/plumbing-command.js'

export default class ThinSnap extends PlumbingCommand<ThinDevice> {
  static override summary = 'Snapshot a thin device'
  static override description =
    'Like the kernel\'s create_snap message (ID first, then ORIGIN): the new device shares all of the origin\'s ' +
    'mappings, so the cost does not grow with the origin\'s size. Later writes to either copy the shared blocks first.'

  static override examples = ['<%= config.bin %> <%= command.id %> --pool /tmp/pool 2 1']
  static override args = {
    id: Args.string({description: 'the new device id (1-16777215)', required: true}),
    origin: Args.string({description: 'the device to snapshot', required: true}),
  }

  static override flags = {pool: poolFlag}

  public async run(): Promise<ThinDevice> {
    const {args, flags} = await this.parse(ThinSnap)
    return snapThin({pool: flags.pool, id: parseDeviceId(args.id), origin: parseDeviceId(args.origin), failpoint: await failpointFromEnv()})
  }
}
