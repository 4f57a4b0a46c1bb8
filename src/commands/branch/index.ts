import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {FvmError} from '../../errors.js'
import type {CreateBranchResult} from '../../plumbing/catalog/ops-branches.js'
import type {BranchSummary} from '../../plumbing/catalog/ops-lookups.js'
import {branchCreate, branchList} from '../../plumbing/porcelain/branches.js'
import {FvmCommand} from '../../ui/command.js'
import {failpointFromEnv} from '../../ui/failpoint.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {renderTable} from '../../ui/table.js'

export default class Branch extends FvmCommand<BranchSummary[] | CreateBranchResult> {
  static override summary = 'List branches, or create one'
  static override description =
    'Without an argument, lists every local branch: its thin device, the snapshot it last started from or was ' +
    'tagged at (its base), and when it was made. --json prints an array of objects.\n\n' +
    'With VOLUME/BRANCH, creates that branch: from the volume\'s trunk by default, or --from a branch, a tag (TAG ' +
    'or TAG@VOLUME) or a remote branch (HOST/VOLUME/BRANCH) of the same volume. It costs the same whatever the ' +
    'volume holds: the new branch shares every block with its source until either is written. Branching from a ' +
    'branch also records their shared point, the base of later deltas.'

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {description: 'A branch of mydata\'s trunk', command: '<%= config.bin %> <%= command.id %> mydata/feature'},
    {description: 'A branch starting at a tag', command: '<%= config.bin %> <%= command.id %> mydata/hotfix --from v1'},
    {description: 'A writable branch from what another instance pushed', command: '<%= config.bin %> <%= command.id %> mydata/theirs --from beta/mydata/trunk'},
  ]

  static override args = {branch: Args.string({description: 'VOLUME/BRANCH to create; without it, list the branches'})}
  static override flags = {
    home: homeFlag,
    from: Flags.string({description: 'start from this branch, tag or remote branch of the volume [default: VOLUME/trunk]', helpValue: 'REF'}),
  }

  public async run(): Promise<BranchSummary[] | CreateBranchResult> {
    const {args, flags} = await this.parse(Branch)
    const home = resolveHome(flags.home)
    if (args.branch === undefined) {
      if (flags.from !== undefined) {
        throw new FvmError('usage', '--from needs the branch to create', {hint: 'fvm branch VOLUME/BRANCH --from REF'})
      }
      return this.list(branchList({home}))
    }
    const result = branchCreate({home, branch: args.branch, from: flags.from, failpoint: await failpointFromEnv()})
    this.log(`Created branch ${result.branch} from ${result.from}`)
    return result
  }

  private async list(branches: BranchSummary[]): Promise<BranchSummary[]> {
    if (this.jsonEnabled()) return branches
    if (branches.length === 0) {
      this.say('no branches: a volume brings its trunk; create one with "fvm volume create NAME --size SIZE"')
      return branches
    }
    const rows = branches.map((b) => [b.branch, b.device, b.base?.slice(0, 8) ?? '-', b.created])
    this.log((await renderTable(['BRANCH', 'DEVICE', 'BASE', 'CREATED'], rows)).trimEnd())
    return branches
  }
}
