import * as Args from '@oclif/core/args'
import {deleteThin, parseDeviceId} from '../../../plumbing/thin.js'
import {PlumbingCommand, failpointFromEnv, poolFlag} from '../../../ui/plumbing-command.js'

export default class ThinDelete extends PlumbingCommand<{id: number, deleted: true}> {
  static override summary = 'Delete a thin device'
  static override description =
    'Like the kernel\'s delete message: removes the device and releases its mappings; data blocks no other device ' +
    'uses become free. Irreversible.'

  static override examples = ['<%= config.bin %> <%= command.id %> --pool /tmp/pool 2']
  static override args = {id: Args.string({description: 'the device to delete', required: true})}
  static override flags = {pool: poolFlag}

  public async run(): Promise<{id: number, deleted: true}> {
    const {args, flags} = await this.parse(ThinDelete)
    return deleteThin({pool: flags.pool, id: parseDeviceId(args.id), failpoint: await failpointFromEnv()})
  }
}
