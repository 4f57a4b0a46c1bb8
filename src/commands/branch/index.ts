import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {FvmError} from '../../errors.js'
import type {CreateBranchResult} from '../../plumbing/catalog/ops-branches.js'
import type {BranchSummary, RemoteBranchSummary} from '../../plumbing/catalog/ops-lookups.js'
import {branchCreate, branchList, remoteBranchList} from '../../plumbing/porcelain/branches.js'
import {FvmCommand} from '../../ui/command.js'
import {failpointFromEnv} from '../../ui/failpoint.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {renderTable} from '../../ui/table.js'

export default class Branch extends FvmCommand<BranchSummary[] | RemoteBranchSummary[] | CreateBranchResult> {
  static override summary = 'List branches, or create one'
  static override description =
    'Without an argument, lists every local branch: its thin device, the snapshot it last started from or was ' +
    'tagged at (its base), and when it was made; with --remotes, the read-only remote branches other instances ' +
    'pushed or this one fetched (HOST/VOLUME/BRANCH). --json prints an array of objects.\n\n' +
    'With VOLUME/BRANCH, creates that branch: from the volume\'s trunk by default, or --from a branch, a tag (TAG ' +
    'or TAG@VOLUME) or a remote branch (HOST/VOLUME/BRANCH) of the same volume. It costs the same whatever the ' +
    'volume holds: the new branch shares every block with its source until either is written. Branching from a ' +
    'branch also records their shared point, the base of later deltas.'

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {description: 'The remote branches', command: '<%= config.bin %> <%= command.id %> --remotes'},
    {description: 'A branch of mydata\'s trunk', command: '<%= config.bin %> <%= command.id %> mydata/feature'},
    {description: 'A branch starting at a tag', command: '<%= config.bin %> <%= command.id %> mydata/hotfix --from v1'},
    {description: 'A writable branch from what another instance pushed', command: '<%= config.bin %> <%= command.id %> mydata/theirs --from beta/mydata/trunk'},
  ]

  static override args = {branch: Args.string({description: 'VOLUME/BRANCH to create; without it, list the branches'})}
  static override flags = {
    home: homeFlag,
    remotes: Flags.boolean({char: 'r', description: 'list the remote branches instead'}),
    from: Flags.string({description: 'start from this branch, tag or remote branch of the volume, or a snapshot uuid from "fvm log" (what a reflog kept) [default: VOLUME/trunk]', helpValue: 'REF'}),
  }

  public async run(): Promise<BranchSummary[] | RemoteBranchSummary[] | CreateBranchResult> {
    const {args, flags} = await this.parse(Branch)
    const home = resolveHome(flags.home)
    if (flags.remotes) {
      if (args.branch !== undefined || flags.from !== undefined) throw new FvmError('usage', '--remotes only lists', {hint: 'fvm branch --remotes'})
      return this.listRemotes(remoteBranchList({home}))
    }
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

  private async listRemotes(branches: RemoteBranchSummary[]): Promise<RemoteBranchSummary[]> {
    if (this.jsonEnabled()) return branches
    if (branches.length === 0) {
      this.say('no remote branches: they come from "fvm push" on another instance, or "fvm fetch" here')
      return branches
    }
    const rows = branches.map((b) => [b.remoteBranch, b.device ?? '-', b.snapshot.slice(0, 8), b.created])
    this.log((await renderTable(['REMOTE BRANCH', 'DEVICE', 'HEAD', 'CREATED'], rows)).trimEnd())
    return branches
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
