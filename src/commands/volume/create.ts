import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import type {CreateVolumeResult} from '../../plumbing/catalog/ops-volumes.js'
import {checkName, nameProblem} from '../../plumbing/names.js'
import {volumeCreate} from '../../plumbing/porcelain/volumes.js'
import {parseSize} from '../../plumbing/sizes.js'
import {FvmCommand} from '../../ui/command.js'
import {failpointFromEnv} from '../../ui/failpoint.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
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

export default class VolumeCreate extends FvmCommand<CreateVolumeResult> {
  static override summary = 'Create a volume, with its branch trunk'
  static override description =
    'A volume is a virtual disk of a fixed size (thin: it takes pool space only as it is written). It starts with ' +
    'one branch, NAME/trunk: empty, or with --from a copy of a tag, branch or remote branch of any volume (made at ' +
    'once, sharing blocks until either side writes them; --size then defaults to the source\'s and may only grow ' +
    'it). Sizes are binary: 4096, 256MiB, 10G, 1TiB. A quota in fvm.yaml (quota: SIZE) limits the volumes\' sizes ' +
    'added up; going past it fails with exit code 6, saying by how much.'

  static override examples = [
    {description: 'An empty 10 GiB volume', command: '<%= config.bin %> <%= command.id %> mydata --size 10G'},
    {description: 'A copy of a tag of another volume', command: '<%= config.bin %> <%= command.id %> scratch --from v1@mydata'},
    {description: 'A copy of a branch, grown to 20 GiB', command: '<%= config.bin %> <%= command.id %> bigger --from mydata/trunk --size 20G'},
  ]

  static override args = {name: Args.string({description: 'the new volume\'s name (asked for on a terminal)'})}
  static override flags = {
    home: homeFlag,
    size: Flags.string({description: 'virtual size: 4096, 256MiB, 10G, 1TiB (binary units)', helpValue: 'SIZE'}),
    from: Flags.string({description: 'start as a copy of this tag, branch or remote branch (TAG@VOLUME, VOLUME/BRANCH, HOST/VOLUME/BRANCH)', helpValue: 'REF'}),
  }

  public async run(): Promise<CreateVolumeResult> {
    const {args, flags} = await this.parse(VolumeCreate)
    const json = this.jsonEnabled()
    const usage = 'fvm volume create NAME --size SIZE'
    const name = checkName('volume', args.name ?? (await askText('Name of the new volume:', (v) => nameProblem(v) ?? true, {json, hint: `name it: ${usage}`})))
    const size = flags.size ?? (flags.from === undefined ? await askText('Size (e.g. 10G):', sizeProblem, {json, hint: `pass --size: ${usage}`}) : undefined)
    const result = volumeCreate({
      home: resolveHome(flags.home),
      name,
      size: size === undefined ? undefined : parseSize(size),
      from: flags.from,
      failpoint: await failpointFromEnv(),
    })
    this.log(`Created volume "${result.name}" (${formatBytes(result.size)}) with branch ${result.branch}`)
    return result
  }
}
