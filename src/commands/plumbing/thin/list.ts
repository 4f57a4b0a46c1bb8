import type {ThinDevice} from '../../../dm/thin/thin-pool.js'
import {listThins} from '../../../plumbing/thin.js'
import {PlumbingCommand, poolFlag} from '../../../ui/plumbing-command.js'

export default class ThinList extends PlumbingCommand<{devices: ThinDevice[]}> {
  static override summary = 'List the thin devices of a pool'
  static override description = 'Each device\'s id, number of mapped blocks, transaction id, creation time and snapshot time.'
  static override examples = ['<%= config.bin %> <%= command.id %> --pool /tmp/pool']
  static override flags = {pool: poolFlag}

  public async run(): Promise<{devices: ThinDevice[]}> {
    const {flags} = await this.parse(ThinList)
    return listThins({pool: flags.pool})
  }
}
