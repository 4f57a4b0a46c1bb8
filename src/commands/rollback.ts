import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {FvmError} from '../errors.js'
import type {RollbackResult} from '../plumbing/catalog/ops-rollback.js'
import {refChoices} from '../plumbing/porcelain/choices.js'
import {checkRef} from '../plumbing/porcelain/entry.js'
import {rollbackBranch, undoRollback} from '../plumbing/porcelain/rollback.js'
import {FvmCommand} from '../ui/command.js'
import {failpointFromEnv} from '../ui/failpoint.js'
import {homeFlag, resolveHome} from '../ui/home.js'
import {canPrompt} from '../ui/interactive.js'
import {askConfirm, askSelect} from '../ui/prompt.js'

export default class Rollback extends FvmCommand<RollbackResult> {
  static override summary = 'Roll a branch back to a tag, or undo the last rollback'
  static override description =
    'The branch\'s content becomes the tag\'s, at once whatever the size. Nothing is lost: what the branch held ' +
    'is kept, and "fvm rollback --undo VOLUME/BRANCH" brings it back (undoing again redoes). TAG is a tag of the ' +
    'branch\'s volume, as TAG or TAG@VOLUME. Asks for confirmation on a terminal; elsewhere pass --yes.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> mydata/trunk v1',
    {description: 'In a script', command: '<%= config.bin %> <%= command.id %> mydata/trunk v1@mydata --yes'},
    {description: 'Bring back what the branch held before', command: '<%= config.bin %> <%= command.id %> --undo mydata/trunk'},
  ]

  static override args = {
    branch: Args.string({description: 'VOLUME/BRANCH (chosen from a list on a terminal)'}),
    tag: Args.string({description: 'TAG or TAG@VOLUME to roll back to (chosen from a list on a terminal)'}),
  }

  static override flags = {
    home: homeFlag,
    undo: Flags.boolean({description: 'restore what the last rollback (or undo) of the branch replaced'}),
    yes: Flags.boolean({char: 'y', description: 'roll back without asking'}),
  }

  public async run(): Promise<RollbackResult> {
    const {args, flags} = await this.parse(Rollback)
    const home = resolveHome(flags.home)
    const json = this.jsonEnabled()
    const usage = flags.undo ? 'fvm rollback --undo VOLUME/BRANCH' : 'fvm rollback VOLUME/BRANCH TAG'
    if (flags.undo && args.tag !== undefined) throw new FvmError('usage', '--undo takes the branch alone, not a tag', {hint: usage})
    const branches = (): string[] => (canPrompt(json) ? refChoices({home, kind: 'branch'}) : [])
    const branch = args.branch ?? (await askSelect('Branch to roll back:', branches(), {json, hint: `name it: ${usage}`}))
    const {volume} = checkRef(branch, ['branch'])
    const tags = (): string[] => (canPrompt(json) ? refChoices({home, kind: 'tag', volume}) : [])
    const tag = flags.undo ? undefined : (args.tag ?? (await askSelect(`Roll ${branch} back to:`, tags(), {json, hint: `name the tag: ${usage}`})))
    if (tag !== undefined) checkRef(tag, ['tag'], volume)
    const what = tag === undefined ? `Undo the last rollback of ${branch}?` : `Roll ${branch} back to ${tag}?`
    const question = `${what} Its current content is kept for --undo.`
    if (!flags.yes && !(await askConfirm(question, {json, hint: 'pass --yes to go ahead without asking'}))) {
      throw new FvmError('aborted', `${branch} was not changed`)
    }
    const failpoint = await failpointFromEnv()
    const result = tag === undefined ? undoRollback({home, branch, failpoint}) : rollbackBranch({home, branch, tag, failpoint})
    const done = tag === undefined ? `Undid the last rollback of ${result.branch}` : `Rolled ${result.branch} back to ${tag}`
    this.log(`${done}; to undo: fvm rollback --undo ${result.branch}`)
    return result
  }
}
