import * as Args from '@oclif/core/args'
import {nameProblem} from '../../plumbing/names.js'
import {branchRename} from '../../plumbing/porcelain/branches.js'
import {refChoices} from '../../plumbing/porcelain/choices.js'
import {checkRef} from '../../plumbing/porcelain/entry.js'
import {FvmCommand} from '../../ui/command.js'
import {failpointFromEnv} from '../../ui/failpoint.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {canPrompt} from '../../ui/interactive.js'
import {askSelect, askText} from '../../ui/prompt.js'

export default class BranchRename extends FvmCommand<{from: string; to: string}> {
  static override summary = 'Rename a branch within its volume'
  static override description =
    'The branch keeps its device, content and history; the history records the names as they were then. NEW is ' +
    'a branch name alone (the volume stays the same).'

  static override examples = ['<%= config.bin %> <%= command.id %> mydata/feature experiment']
  static override args = {
    branch: Args.string({description: 'VOLUME/OLD, the branch to rename (chosen from a list on a terminal)'}),
    to: Args.string({description: 'its new name (asked for on a terminal)'}),
  }

  static override flags = {home: homeFlag}

  public async run(): Promise<{from: string; to: string}> {
    const {args, flags} = await this.parse(BranchRename)
    const home = resolveHome(flags.home)
    const json = this.jsonEnabled()
    const usage = 'fvm branch rename VOLUME/OLD NEW'
    const branches = (): string[] => (canPrompt(json) ? refChoices({home, kind: 'branch'}) : [])
    const branch = args.branch ?? (await askSelect('Branch to rename:', branches(), {json, hint: `name it: ${usage}`}))
    checkRef(branch, ['branch'])
    const to = args.to ?? (await askText(`New name for ${branch}:`, (v) => nameProblem(v) ?? true, {json, hint: `pass the new name: ${usage}`}))
    const result = branchRename({home, branch, to, failpoint: await failpointFromEnv()})
    this.log(`Renamed branch ${result.from} to ${result.to}`)
    return result
  }
}
