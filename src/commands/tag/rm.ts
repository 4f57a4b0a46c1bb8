import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {FvmError} from '../../errors.js'
import type {RemoveTagResult} from '../../plumbing/catalog/ops-tags.js'
import {refChoices} from '../../plumbing/porcelain/choices.js'
import {checkRef} from '../../plumbing/porcelain/entry.js'
import {tagRemove} from '../../plumbing/porcelain/tags.js'
import {FvmCommand} from '../../ui/command.js'
import {failpointFromEnv} from '../../ui/failpoint.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {canPrompt} from '../../ui/interactive.js'
import {askConfirm, askSelect} from '../../ui/prompt.js'

export default class TagRm extends FvmCommand<RemoveTagResult> {
  static override summary = 'Remove a tag'
  static override description =
    'Drops the tag; its thin device goes too unless a branch still starts from it (then gc takes it once nothing ' +
    'does). Asks for confirmation on a terminal; elsewhere pass --yes.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> v1@mydata',
    {description: 'In a script', command: '<%= config.bin %> <%= command.id %> v1@mydata --yes'},
  ]

  static override args = {tag: Args.string({description: 'TAG@VOLUME (chosen from a list on a terminal)'})}
  static override flags = {
    home: homeFlag,
    yes: Flags.boolean({char: 'y', description: 'remove without asking'}),
  }

  public async run(): Promise<RemoveTagResult> {
    const {args, flags} = await this.parse(TagRm)
    const home = resolveHome(flags.home)
    const json = this.jsonEnabled()
    const hint = 'name it: fvm tag rm TAG@VOLUME'
    const tag = args.tag ?? (await askSelect('Tag to remove:', canPrompt(json) ? refChoices({home, kind: 'tag'}) : [], {json, hint}))
    checkRef(tag, ['tag'])
    const question = `Remove tag ${tag}? Rolling back to it will no longer be possible.`
    if (!flags.yes && !(await askConfirm(question, {json, hint: 'pass --yes to remove it without asking'}))) {
      throw new FvmError('aborted', `tag ${tag} was not removed`)
    }
    const result = tagRemove({home, tag, failpoint: await failpointFromEnv()})
    const kept = result.deleted.length === 0 ? ' (its snapshot stays while a branch starts from it)' : ''
    this.log(`Removed tag ${result.tag}${kept}`)
    return result
  }
}
