import * as Args from '@oclif/core/args'
import {nameProblem} from '../../plumbing/names.js'
import {listRemotes, renameRemote} from '../../plumbing/remotes.js'
import {FvmCommand} from '../../ui/command.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {canPrompt} from '../../ui/interactive.js'
import {askSelect, askText} from '../../ui/prompt.js'

export default class RemoteRename extends FvmCommand<{from: string; to: string}> {
  static override summary = 'Rename a remote'
  static override description =
    'The remote keeps its address and the instance name learnt from it; its remote branches are named after that ' +
    'instance, so they keep their names.'

  static override examples = ['<%= config.bin %> <%= command.id %> beta backup']
  static override args = {
    name: Args.string({description: 'the remote to rename (chosen from a list on a terminal)'}),
    to: Args.string({description: 'its new name (asked for on a terminal)'}),
  }

  static override flags = {home: homeFlag}

  public async run(): Promise<{from: string; to: string}> {
    const {args, flags} = await this.parse(RemoteRename)
    const home = resolveHome(flags.home)
    const json = this.jsonEnabled()
    const hint = 'name both: fvm remote rename OLD NEW'
    const names = (): string[] => (canPrompt(json) ? listRemotes({home}).map((r) => r.name) : [])
    const name = args.name ?? (await askSelect('Remote to rename:', names(), {json, hint}))
    const to = args.to ?? (await askText(`New name for ${name}:`, (v) => nameProblem(v) ?? true, {json, hint}))
    const result = renameRemote({home, name, to})
    this.log(`Renamed remote ${result.from} to ${result.to}`)
    return result
  }
}
