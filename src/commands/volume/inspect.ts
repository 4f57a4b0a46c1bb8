import * as Args from '@oclif/core/args'
import {refChoices} from '../../plumbing/porcelain/choices.js'
import {type VolumeInspection, volumeInspect} from '../../plumbing/porcelain/volumes.js'
import {FvmCommand} from '../../ui/command.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {canPrompt} from '../../ui/interactive.js'
import {askSelect} from '../../ui/prompt.js'

export default class VolumeInspect extends FvmCommand<VolumeInspection> {
  static override summary = 'Print a volume\'s catalog record and its thin devices, as JSON'
  static override description =
    'Low-level detail for debugging, always JSON: {"volume": the catalog record as stored, "snapshots": every ' +
    'snapshot record of the volume, oldest first, "devices": [{"device", "branch", "snapshot", "details"}]} where ' +
    'details is the pool\'s record of the thin device (mappedBlocks, transactionId, creationTime, snapshottedTime), ' +
    'or null if the pool lacks it.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> mydata',
    {description: 'The thin device of each branch', command: '<%= config.bin %> <%= command.id %> mydata | jq \'.devices[] | select(.branch) | [.branch, .device]\''},
  ]

  static override args = {name: Args.string({description: 'the volume (chosen from a list on a terminal)'})}
  static override flags = {home: homeFlag}

  public async run(): Promise<VolumeInspection> {
    const {args, flags} = await this.parse(VolumeInspect)
    const home = resolveHome(flags.home)
    const json = this.jsonEnabled()
    const hint = 'name it: fvm volume inspect NAME'
    const name = args.name ?? (await askSelect('Volume:', canPrompt(json) ? refChoices({home, kind: 'volume'}) : [], {json, hint}))
    const inspection = volumeInspect({home, name})
    this.log(JSON.stringify(inspection, null, 2))
    return inspection
  }
}
