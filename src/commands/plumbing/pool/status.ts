import {type PoolReport, poolStatus} from '../../../plumbing/pool.js'
import {PlumbingCommand, poolFlag} from '../../../ui/plumbing-command.js'

export default class PoolStatus extends PlumbingCommand<PoolReport> {
  static override summary = 'Show a pool\'s transaction id, time, space use and health'
  static override description =
    'Reads the pool\'s superblock and space maps: transaction id, snapshot clock, used and total metadata and data ' +
    'blocks, the held metadata snapshot, needs_check, and the number of thin devices. Changes nothing.'

  static override examples = ['<%= config.bin %> <%= command.id %> --pool /tmp/pool']
  static override flags = {pool: poolFlag}

  public async run(): Promise<PoolReport> {
    const {flags} = await this.parse(PoolStatus)
    return poolStatus({pool: flags.pool})
  }
}
