import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {FvmError} from '../../errors.js'
import type {RemoveBranchResult} from '../../plumbing/catalog/ops-branches.js'
import {branchRemove} from '../../plumbing/porcelain/branches.js'
import {refChoices} from '../../plumbing/porcelain/choices.js'
import {checkRef} from '../../plumbing/porcelain/entry.js'
import {FvmCommand} from '../../ui/command.js'
import {failpointFromEnv} from '../../ui/failpoint.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {canPrompt} from '../../ui/interactive.js'
import {askConfirm, askSelect} from '../../ui/prompt.js'

export default class BranchRm extends FvmCommand<RemoveBranchResult> {
  static override summary = 'Remove a branch'
  static override description =
    'Deletes the branch\'s thin device and the snapshots only it needed (its rollback history among them); tags ' +
    'stay. A volume\'s last branch stays: remove the volume instead. Asks for confirmation on a terminal; ' +
    'elsewhere pass --yes.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> mydata/feature',
    {description: 'In a script', command: '<%= config.bin %> <%= command.id %> mydata/feature --yes'},
  ]

  static override args = {branch: Args.string({description: 'VOLUME/BRANCH (chosen from a list on a terminal)'})}
  static override flags = {
    home: homeFlag,
    yes: Flags.boolean({char: 'y', description: 'remove without asking'}),
  }

  public async run(): Promise<RemoveBranchResult> {
    const {args, flags} = await this.parse(BranchRm)
    const home = resolveHome(flags.home)
    const json = this.jsonEnabled()
    const hint = 'name it: fvm branch rm VOLUME/BRANCH'
    const branch = args.branch ?? (await askSelect('Branch to remove:', canPrompt(json) ? refChoices({home, kind: 'branch'}) : [], {json, hint}))
    checkRef(branch, ['branch'])
    const question = `Remove branch ${branch}? What it holds that no tag does is lost.`
    if (!flags.yes && !(await askConfirm(question, {json, hint: 'pass --yes to remove it without asking'}))) {
      throw new FvmError('aborted', `branch ${branch} was not removed`)
    }
    const result = branchRemove({home, branch, failpoint: await failpointFromEnv()})
    this.log(`Removed branch ${result.branch} (${result.deleted.length} thin devices deleted)`)
    return result
  }
}
