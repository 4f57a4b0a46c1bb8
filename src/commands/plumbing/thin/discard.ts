import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {parseDeviceId} from '../../../plumbing/thin.js'
import {parseSize} from '../../../plumbing/sizes.js'
import {type ThinDiscardReport, discardThin} from '../../../plumbing/volume-io.js'
import {PlumbingCommand, failpointFromEnv, poolFlag} from '../../../ui/plumbing-command.js'

export default class ThinDiscard extends PlumbingCommand<ThinDiscardReport> {
  static override summary = 'Discard a byte range of a thin device'
  static override description =
    'Like punching a hole in a file: afterwards the whole range reads as zeros. Blocks it covers wholly are unmapped ' +
    '(their data blocks become free unless a snapshot still maps them); the partly covered blocks at its ends keep ' +
    'their mapping and have the covered bytes zeroed (copied first if a snapshot shares them). Prints a JSON summary.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> --pool /tmp/pool 1 --offset 1MiB --length 64MiB',
    {description: 'Free a whole 1 GiB volume\'s blocks', command: '<%= config.bin %> <%= command.id %> --pool /tmp/pool 1 --length 1GiB'},
  ]

  static override args = {id: Args.string({description: 'the device to discard from', required: true})}
  static override flags = {
    pool: poolFlag,
    offset: Flags.string({description: 'byte offset of the range (a size: 4096, 64KiB, 1G)', helpValue: 'SIZE', default: '0'}),
    length: Flags.string({description: 'bytes in the range', helpValue: 'SIZE', required: true}),
  }

  public async run(): Promise<ThinDiscardReport> {
    const {args, flags} = await this.parse(ThinDiscard)
    const id = parseDeviceId(args.id)
    const offset = parseSize(flags.offset, 'offset')
    const length = parseSize(flags.length, 'length')
    return discardThin({pool: flags.pool, id, offset, length, failpoint: await failpointFromEnv()})
  }
}
