import * as Flags from '@oclif/core/flags'
import {type RestoreReport, restorePool} from '../../../plumbing/pool-xml.js'
import {PlumbingCommand, failpointFromEnv, poolFlag} from '../../../ui/plumbing-command.js'

export default class PoolRestore extends PlumbingCommand<RestoreReport> {
  static override summary = 'Create a pool from thin_dump XML'
  static override description =
    'Like thin_restore: a new pool whose metadata holds exactly the devices and mappings of the XML (thin_dump 0.9 ' +
    'or 1.x output, def/ref included), with a sparse data file of nr_data_blocks blocks. The XML is streamed, and ' +
    'nothing is left behind if it is refused. Refuses to overwrite an existing pool.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> --pool /tmp/pool --input pool.xml',
    {description: 'Copy a pool through its XML', command: '<%= config.bin %> plumbing pool dump --pool /tmp/a | <%= config.bin %> <%= command.id %> --pool /tmp/b'},
  ]

  static override flags = {
    pool: poolFlag,
    input: Flags.string({char: 'i', description: 'the XML file, or - for stdin', helpValue: 'FILE', default: '-'}),
  }

  public async run(): Promise<RestoreReport> {
    const {flags} = await this.parse(PoolRestore)
    return restorePool({pool: flags.pool, input: flags.input, failpoint: await failpointFromEnv()})
  }
}
