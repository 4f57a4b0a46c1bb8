import * as Flags from '@oclif/core/flags'
import {type PoolReport, formatPool, parseCount} from '../../../plumbing/pool.js'
import {parseSize} from '../../../plumbing/sizes.js'
import {PlumbingCommand, failpointFromEnv, poolFlag} from '../../../ui/plumbing-command.js'

export default class PoolFormat extends PlumbingCommand<PoolReport> {
  static override summary = 'Create a new, empty thin pool'
  static override description =
    'Creates the pool directory with a sparse data file of --data-blocks blocks and a metadata file in the kernel\'s ' +
    'dm-thin format, sized by the kernel\'s rule (48 bytes per data block, at least 2 MiB). Thin device 0 is created ' +
    'and reserved. Refuses to overwrite an existing pool.'

  static override examples = [
    {description: 'A pool of 16384 blocks of 64 KiB (1 GiB)', command: '<%= config.bin %> <%= command.id %> --pool /tmp/pool --data-blocks 16384'},
    {description: 'With 1 MiB blocks', command: '<%= config.bin %> <%= command.id %> --pool /tmp/pool --data-blocks 1024 --block-size 1MiB'},
  ]

  static override flags = {
    pool: poolFlag,
    'data-blocks': Flags.string({description: 'number of data blocks', helpValue: 'N', required: true}),
    'block-size': Flags.string({description: 'data block size, a multiple of 64KiB up to 1GiB', helpValue: 'SIZE', default: '64KiB'}),
  }

  public async run(): Promise<PoolReport> {
    const {flags} = await this.parse(PoolFormat)
    return formatPool({
      pool: flags.pool,
      dataBlocks: parseCount(flags['data-blocks'], 'data block count'),
      dataBlockSize: parseSize(flags['block-size'], 'block size'),
      failpoint: await failpointFromEnv(),
    })
  }
}
