import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {FvmError} from '../../errors.js'
import {type ExportImageResult, exportImage, refVolumeSize} from '../../plumbing/porcelain/transfer.js'
import {FvmCommand} from '../../ui/command.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {startByteProgress} from '../../ui/progress.js'
import {formatBytes} from '../../ui/units.js'

export default class VolumeExport extends FvmCommand<ExportImageResult> {
  static override summary = 'Write a branch, tag or remote branch out as a raw image'
  static override description =
    'Writes exactly the volume\'s size in bytes to FILE (created private, 0600; an existing file is refused unless ' +
    '--force) or to stdout with -. Ranges nothing is mapped in become holes in a regular file and zeros on a pipe. ' +
    'A progress bar (bytes, rate, time left) shows on a terminal.'

  static override examples = [
    {description: 'A tag to a sparse image file', command: '<%= config.bin %> <%= command.id %> v1@mydata mydata-v1.img'},
    {description: 'A branch, compressed on the way', command: '<%= config.bin %> <%= command.id %> mydata/trunk - | zstd > trunk.img.zst'},
  ]

  static override args = {
    ref: Args.string({description: 'the branch, tag or remote branch (VOLUME/BRANCH, TAG@VOLUME, HOST/VOLUME/BRANCH)', required: true}),
    file: Args.string({description: 'the image file to create, or - for stdout', required: true}),
  }

  static override flags = {
    home: homeFlag,
    force: Flags.boolean({char: 'f', description: 'overwrite FILE if it exists'}),
  }

  public async run(): Promise<ExportImageResult> {
    const {args, flags} = await this.parse(VolumeExport)
    const json = this.jsonEnabled()
    if (args.file === '-' && json) {
      throw new FvmError('usage', 'the image on stdout and --json cannot share it', {hint: 'export to a file, or leave out --json'})
    }
    const home = resolveHome(flags.home)
    const progress = json || !process.stderr.isTTY
      ? undefined
      : await startByteProgress(`Exporting ${args.ref}`, refVolumeSize({home, ref: args.ref}), json)
    let result: ExportImageResult
    try {
      result = exportImage({home, ref: args.ref, file: args.file, force: flags.force, progress})
    } finally {
      progress?.finish()
    }
    const message = `Exported ${result.ref} (${formatBytes(result.bytes)}, ${formatBytes(result.dataBytes)} of data) to ${args.file === '-' ? 'stdout' : args.file}`
    if (args.file === '-') this.say(message)
    else this.log(message)
    return result
  }
}
