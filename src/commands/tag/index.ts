import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {FvmError} from '../../errors.js'
import type {TagSummary} from '../../plumbing/catalog/ops-lookups.js'
import type {CreateTagResult} from '../../plumbing/catalog/ops-tags.js'
import {tagCreate, tagList} from '../../plumbing/porcelain/tags.js'
import {FvmCommand} from '../../ui/command.js'
import {failpointFromEnv} from '../../ui/failpoint.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {renderTable} from '../../ui/table.js'

export default class Tag extends FvmCommand<TagSummary[] | CreateTagResult> {
  static override summary = 'List tags, or create one'
  static override description =
    'Without an argument, lists every tag: its snapshot, thin device and time. --json prints an array of objects.\n\n' +
    'With TAG@VOLUME, makes that tag: a read-only, immutable snapshot of the volume\'s trunk, or --from another ' +
    'branch (VOLUME/BRANCH) or remote branch of the volume. It costs the same whatever the volume holds. A branch ' +
    'can be rolled back to a tag, and new branches and volumes can start from one.'

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {description: 'Tag mydata\'s trunk', command: '<%= config.bin %> <%= command.id %> v1@mydata'},
    {description: 'Tag another branch', command: '<%= config.bin %> <%= command.id %> before-upgrade@mydata --from mydata/feature'},
  ]

  static override args = {tag: Args.string({description: 'TAG@VOLUME to create; without it, list the tags'})}
  static override flags = {
    home: homeFlag,
    from: Flags.string({description: 'the branch or remote branch to tag [default: VOLUME/trunk]', helpValue: 'BRANCH'}),
  }

  public async run(): Promise<TagSummary[] | CreateTagResult> {
    const {args, flags} = await this.parse(Tag)
    const home = resolveHome(flags.home)
    if (args.tag === undefined) {
      if (flags.from !== undefined) throw new FvmError('usage', '--from needs the tag to create', {hint: 'fvm tag TAG@VOLUME --from BRANCH'})
      return this.list(tagList({home}))
    }
    const result = tagCreate({home, tag: args.tag, from: flags.from, failpoint: await failpointFromEnv()})
    this.log(`Tagged ${result.from} as ${result.tag}`)
    return result
  }

  private async list(tags: TagSummary[]): Promise<TagSummary[]> {
    if (this.jsonEnabled()) return tags
    if (tags.length === 0) {
      this.say('no tags yet; make one with "fvm tag TAG@VOLUME"')
      return tags
    }
    const rows = tags.map((t) => [t.tag, t.snapshot.slice(0, 8), t.device ?? '-', t.created])
    this.log((await renderTable(['TAG', 'SNAPSHOT', 'DEVICE', 'CREATED'], rows)).trimEnd())
    return tags
  }
}
