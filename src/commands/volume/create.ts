import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {checkName, nameProblem} from '../../plumbing/names.js'
import {type VolumeCreateResult, fromImage, volumeCreate} from '../../plumbing/porcelain/volumes.js'
import {parseSize} from '../../plumbing/sizes.js'
import {FvmCommand} from '../../ui/command.js'
import {failpointFromEnv} from '../../ui/failpoint.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {startByteProgress} from '../../ui/progress.js'
import {askText} from '../../ui/prompt.js'
import {formatBytes} from '../../ui/units.js'

function sizeProblem(text: string): string | true {
  try {
    parseSize(text)
    return true
  } catch (error) {
    return (error as Error).message
  }
}

export default class VolumeCreate extends FvmCommand<VolumeCreateResult> {
  static override summary = 'Create a volume, with its branch trunk'
  static override description =
    'A volume is a virtual disk of a fixed size (thin: it takes pool space only as it is written). It starts with ' +
    'one branch, NAME/trunk: empty, or with --from a copy of a tag, branch or remote branch of any volume (made at ' +
    'once, sharing blocks until either side writes them; --size then defaults to the source\'s and may only grow ' +
    'it), or with --from the content of a raw image file (a regular file or block device).\n\n' +
    'An image is imported as "fvm volume import" does (zero blocks left unmapped, a progress bar on a terminal); ' +
    '--size then defaults to the image\'s size rounded up to a multiple of 512 bytes (the kernel\'s sector) and may ' +
    'be larger, never smaller. The image is checked before anything is created, and if the import fails the volume ' +
    'is removed again. --json then adds "image": {"file", "bytesRead", "blocksWritten", "blocksUnchanged", ' +
    '"blocksZeroed"}.\n\n' +
    'What --from names: a value starting with "/", "./" or "../" is a file. Otherwise a reference (TAG@VOLUME, ' +
    'VOLUME/BRANCH, HOST/VOLUME/BRANCH) that exists wins; a value that is no existing reference, or not a ' +
    'reference\'s syntax at all (disk.img), is a file if one exists by that name. Write ./NAME for a file that has ' +
    'a reference\'s name.\n\n' +
    'Sizes are binary: 4096, 256MiB, 10G, 1TiB. A quota in fvm.yaml (quota: SIZE) limits the volumes\' sizes ' +
    'added up; going past it fails with exit code 6, saying by how much.'

  static override examples = [
    {description: 'An empty 10 GiB volume', command: '<%= config.bin %> <%= command.id %> mydata --size 10G'},
    {description: 'A copy of a tag of another volume', command: '<%= config.bin %> <%= command.id %> scratch --from v1@mydata'},
    {description: 'A copy of a branch, grown to 20 GiB', command: '<%= config.bin %> <%= command.id %> bigger --from mydata/trunk --size 20G'},
    {description: 'A volume holding a disk image, as large as the image', command: '<%= config.bin %> <%= command.id %> vm --from disk.img'},
    {description: 'An image with room to grow', command: '<%= config.bin %> <%= command.id %> vm --from ./images/disk.raw --size 20G'},
  ]

  static override args = {name: Args.string({description: 'the new volume\'s name (asked for on a terminal)'})}
  static override flags = {
    home: homeFlag,
    size: Flags.string({description: 'virtual size: 4096, 256MiB, 10G, 1TiB (binary units)', helpValue: 'SIZE'}),
    from: Flags.string({description: 'start as a copy of this tag, branch or remote branch (TAG@VOLUME, VOLUME/BRANCH, HOST/VOLUME/BRANCH), or with the content of this raw image file', helpValue: 'REF|IMAGE'}),
  }

  public async run(): Promise<VolumeCreateResult> {
    const {args, flags} = await this.parse(VolumeCreate)
    const json = this.jsonEnabled()
    const usage = 'fvm volume create NAME --size SIZE'
    const name = checkName('volume', args.name ?? (await askText('Name of the new volume:', (v) => nameProblem(v) ?? true, {json, hint: `name it: ${usage}`})))
    const size = flags.size ?? (flags.from === undefined ? await askText('Size (e.g. 10G):', sizeProblem, {json, hint: `pass --size: ${usage}`}) : undefined)
    const bytes = size === undefined ? undefined : parseSize(size)
    const home = resolveHome(flags.home)
    const image = flags.from === undefined || json || !process.stderr.isTTY ? undefined : fromImage({home, from: flags.from})
    // No bar for what is no image file: creating refuses it at once.
    const progress = image?.size === undefined ? undefined : await startByteProgress(`Importing ${image.file} into ${name}/trunk`, image.size, json)
    let result: VolumeCreateResult
    try {
      result = volumeCreate({home, name, size: bytes, from: flags.from, progress, failpoint: await failpointFromEnv()})
    } finally {
      progress?.finish()
    }
    const imported = result.image && ` from ${result.image.file}: ${formatBytes(result.image.bytesRead)} read, ${result.image.blocksWritten} blocks written`
    this.log(`Created volume "${result.name}" (${formatBytes(result.size)}) with branch ${result.branch}${imported ?? ''}`)
    return result
  }
}
