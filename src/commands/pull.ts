import type {PullResult} from '../plumbing/replicate/pull.js'
import {FvmCommand} from '../ui/command.js'
import {pullArgs, pullFlags, runPull} from '../ui/pull-command.js'

export default class Pull extends FvmCommand<PullResult> {
  static override summary = 'Fetch branches from another instance and fast-forward the local ones'
  static override description =
    'Fetches (see fvm fetch) into the read-only remote branch REMOTE-INSTANCE/VOLUME/BRANCH, then brings the local ' +
    'branch VOLUME/BRANCH to it: made from it if missing, fast-forwarded if nothing was written to it since its ' +
    'base, and otherwise left alone (exit code 4) with a hint to branch from what came.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> beta mydata',
    {description: 'Over ssh, under another name here', command: '<%= config.bin %> <%= command.id %> backup.example.com:/srv/fvm mydata/trunk --as mydata-copy'},
  ]

  static override strict = false
  static override args = pullArgs
  static override flags = pullFlags

  public async run(): Promise<PullResult> {
    const {argv, flags} = await this.parse(Pull)
    return runPull(argv as string[], flags, true, this.jsonEnabled(), (line) => this.log(line))
  }
}
