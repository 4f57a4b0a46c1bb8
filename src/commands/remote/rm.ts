import * as Args from '@oclif/core/args'
import {type Remote, listRemotes, removeRemote} from '../../plumbing/remotes.js'
import {FvmCommand} from '../../ui/command.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {canPrompt} from '../../ui/interactive.js'
import {askSelect} from '../../ui/prompt.js'

export default class RemoteRm extends FvmCommand<Remote> {
  static override summary = 'Remove a remote'
  static override description =
    'Forgets the name and its address, without asking (as "git remote rm"). What the instance sent here stays: ' +
    'its remote branches are named after the instance, not after the remote.'

  static override examples = ['<%= config.bin %> <%= command.id %> beta']
  static override args = {name: Args.string({description: 'the remote (chosen from a list on a terminal)'})}
  static override flags = {home: homeFlag}

  public async run(): Promise<Remote> {
    const {args, flags} = await this.parse(RemoteRm)
    const home = resolveHome(flags.home)
    const json = this.jsonEnabled()
    const names = (): string[] => (canPrompt(json) ? listRemotes({home}).map((r) => r.name) : [])
    const name = args.name ?? (await askSelect('Remote to remove:', names(), {json, hint: 'name it: fvm remote rm NAME'}))
    const removed = removeRemote({home, name})
    this.log(`Removed remote ${removed.name} (${removed.url})`)
    return removed
  }
}
