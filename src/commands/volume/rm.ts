import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {FvmError} from '../../errors.js'
import type {RemoveVolumeResult} from '../../plumbing/catalog/ops-volumes.js'
import {checkName} from '../../plumbing/names.js'
import {refChoices} from '../../plumbing/porcelain/choices.js'
import {volumeRemove} from '../../plumbing/porcelain/volumes.js'
import {FvmCommand} from '../../ui/command.js'
import {failpointFromEnv} from '../../ui/failpoint.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {canPrompt} from '../../ui/interactive.js'
import {askConfirm, askSelect} from '../../ui/prompt.js'

export default class VolumeRm extends FvmCommand<RemoveVolumeResult> {
  static override summary = 'Remove a volume with all its branches, tags and snapshots'
  static override description =
    'Deletes every thin device the volume holds and its catalog record; volumes copied from it keep their data. ' +
    'Asks for confirmation on a terminal; elsewhere pass --yes (without it the command fails rather than wait).'

  static override examples = [
    '<%= config.bin %> <%= command.id %> scratch',
    {description: 'In a script', command: '<%= config.bin %> <%= command.id %> scratch --yes'},
  ]

  static override args = {name: Args.string({description: 'the volume (chosen from a list on a terminal)'})}
  static override flags = {
    home: homeFlag,
    yes: Flags.boolean({char: 'y', description: 'remove without asking'}),
  }

  public async run(): Promise<RemoveVolumeResult> {
    const {args, flags} = await this.parse(VolumeRm)
    const home = resolveHome(flags.home)
    const json = this.jsonEnabled()
    const hint = 'name it: fvm volume rm NAME'
    const name = checkName('volume', args.name ?? (await askSelect('Volume to remove:', canPrompt(json) ? refChoices({home, kind: 'volume'}) : [], {json, hint})))
    if (!flags.yes) {
      // On a terminal, say what goes (and stop at an unknown volume) before asking.
      const branches = canPrompt(json) ? refChoices({home, kind: 'branch', volume: name}) : []
      const question = `Remove volume "${name}" (branches: ${branches.join(', ')}) with all its tags? This cannot be undone.`
      if (!(await askConfirm(question, {json, hint: 'pass --yes to remove it without asking'}))) {
        throw new FvmError('aborted', `volume "${name}" was not removed`)
      }
    }
    const result = volumeRemove({home, name, failpoint: await failpointFromEnv()})
    this.log(`Removed volume "${result.name}" (${result.deleted.length} thin devices deleted)`)
    return result
  }
}
