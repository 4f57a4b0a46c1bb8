import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {parseDeviceId} from '../../../plumbing/thin.js'
import {parseSize} from '../../../plumbing/sizes.js'
import {readThin} from '../../../plumbing/volume-io.js'
import {FvmCommand} from '../../../ui/command.js'
import {poolFlag} from '../../../ui/plumbing-command.js'

export default class ThinRead extends FvmCommand<void> {
  static override summary = 'Copy bytes of a thin device to stdout'
  static override description =
    'Writes the device\'s bytes from --offset, --length of them, raw, to stdout; unmapped ranges read as zeros. ' +
    'Streamed in bounded memory whatever the length. Errors go to stderr (JSON on stdout with --json).'

  static override examples = [
    '<%= config.bin %> <%= command.id %> --pool /tmp/pool 1 --length 1GiB > disk.img',
    {description: 'Check 4 KiB at 1 MiB', command: '<%= config.bin %> <%= command.id %> --pool /tmp/pool 1 --offset 1MiB --length 4KiB | sha256sum'},
  ]

  static override args = {id: Args.string({description: 'the device to read', required: true})}
  static override flags = {
    pool: poolFlag,
    offset: Flags.string({description: 'byte offset to read from (a size: 4096, 64KiB, 1G)', helpValue: 'SIZE', default: '0'}),
    length: Flags.string({description: 'bytes to read', helpValue: 'SIZE', required: true}),
  }

  public async run(): Promise<void> {
    const {args, flags} = await this.parse(ThinRead)
    const id = parseDeviceId(args.id)
    const offset = parseSize(flags.offset, 'offset')
    const length = parseSize(flags.length, 'length')
    try {
      await readThin({pool: flags.pool, id, offset, length, output: process.stdout})
    } catch (error) {
      // The reader stopped reading (`| head`): it has what it wanted, as with cat.
      if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error
    }
  }
}
