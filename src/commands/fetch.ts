import type {PullResult} from '../plumbing/replicate/pull.js'
import {FvmCommand} from '../ui/command.js'
import {pullArgs, pullFlags, runPull} from '../ui/pull-command.js'

export default class Fetch extends FvmCommand<PullResult> {
  static override summary = 'Receive branches from another instance as read-only remote branches'
  static override description =
    'The push protocol the other way: the other instance freezes the branch, this one picks the newest snapshot of ' +
    'its line it holds and receives only what differs, as the read-only remote branch ' +
    'REMOTE-INSTANCE/VOLUME/BRANCH (a volume keeps its uuid; --as names a new one here). "fvm branch VOLUME/NAME ' +
    '--from REMOTE-INSTANCE/VOLUME/BRANCH" makes a writable branch of it. Not a fast-forward: refused unless --force. ' +
    'An interrupted fetch resumes where it stopped.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> beta mydata/trunk',
    '<%= config.bin %> <%= command.id %> ssh://backup.example.com/srv/fvm mydata',
  ]

  static override strict = false
  static override args = pullArgs
  static override flags = pullFlags

  public async run(): Promise<PullResult> {
    const {argv, flags} = await this.parse(Fetch)
    return runPull(argv as string[], flags, false, this.jsonEnabled(), (line) => this.log(line))
  }
}
