import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import fs from 'node:fs'
import {type ImportImageResult, importImage, refVolumeSize} from '../../plumbing/porcelain/transfer.js'
import {parseSize} from '../../plumbing/sizes.js'
import {FvmCommand} from '../../ui/command.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {startByteProgress} from '../../ui/progress.js'
import {formatBytes} from '../../ui/units.js'

/** The bytes a progress bar expects: a regular file's size, else what the volume has room for. */
function inputTotal(file: string, room: () => number): number {
  try {
    const stat = file === '-' ? fs.fstatSync(0) : fs.statSync(file)
    if (stat.isFile()) return stat.size
  } catch {
    // The import itself reports a missing file.
  }
  return room()
}

export default class VolumeImport extends FvmCommand<ImportImageResult> {
  static override summary = 'Write a raw image into a branch, changing only the blocks that differ'
  static override description =
    'Reads FILE (or stdin with -) block by block (the pool\'s data block size) into the branch from --offset on (a ' +
    'multiple of the block size). A block the branch already holds unchanged is skipped and an all-zero block is ' +
    'unmapped, so re-importing a slightly changed image keeps everything else shared with tags and push bases. An ' +
    'image that does not fit in the volume is refused (from a pipe, once it has given more than fits). One commit ' +
    'at the end; changed blocks go to free space until then, never over the old ones, so an import refused, failed ' +
    'or interrupted part way leaves the branch as it was (the pool needs room for the changed blocks). A progress ' +
    'bar (bytes, rate, time left) shows on a terminal.'

  static override examples = [
    {description: 'An image file into a branch', command: '<%= config.bin %> <%= command.id %> mydata/trunk disk.img'},
    {description: 'From a pipe', command: 'zstd -dc disk.img.zst | <%= config.bin %> <%= command.id %> mydata/trunk -'},
    {description: 'Into the second GiB of the volume', command: '<%= config.bin %> <%= command.id %> mydata/trunk part.img --offset 1G'},
  ]

  static override args = {
    branch: Args.string({description: 'the local branch to write (VOLUME/BRANCH)', required: true}),
    file: Args.string({description: 'the image file, or - for stdin', required: true}),
  }

  static override flags = {
    home: homeFlag,
    offset: Flags.string({description: 'where in the volume the image starts (a multiple of the pool\'s block size)', helpValue: 'SIZE', default: '0'}),
  }

  public async run(): Promise<ImportImageResult> {
    const {args, flags} = await this.parse(VolumeImport)
    const json = this.jsonEnabled()
    const home = resolveHome(flags.home)
    const offset = parseSize(flags.offset, 'offset')
    const progress = json || !process.stderr.isTTY
      ? undefined
      : await startByteProgress(`Importing into ${args.branch}`, inputTotal(args.file, () => Math.max(0, refVolumeSize({home, ref: args.branch}) - offset)), json)
    let result: ImportImageResult
    try {
      result = importImage({home, branch: args.branch, file: args.file, offset, progress})
    } finally {
      progress?.finish()
    }
    this.log(
      `Imported ${formatBytes(result.bytesRead)} into ${result.branch}: ${result.blocksWritten} blocks written, ` +
        `${result.blocksZeroed} unmapped (all zeros), ${result.blocksUnchanged} unchanged`,
    )
    return result
  }
}
