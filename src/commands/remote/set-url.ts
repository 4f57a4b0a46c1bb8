import * as Args from '@oclif/core/args'
import os from 'node:os'
import {type SetUrlResult, listRemotes, setRemoteUrl} from '../../plumbing/remotes.js'
import {ADDRESS_FORMS, addressProblem} from '../../plumbing/transport/address.js'
import {FvmCommand} from '../../ui/command.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {canPrompt} from '../../ui/interactive.js'
import {askSelect, askText} from '../../ui/prompt.js'

export default class RemoteSetUrl extends FvmCommand<SetUrlResult> {
  static override summary = 'Change the address of a remote'
  static override description =
    `ADDRESS is ${ADDRESS_FORMS} (see "fvm remote add --help"). A new address may reach another instance, so the ` +
    'instance name learnt from the old one is forgotten until the next push or pull.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> beta alice@beta2.example.com:fvm',
    '<%= config.bin %> <%= command.id %> beta ssh://beta.example.com:2222',
    '<%= config.bin %> <%= command.id %> backup file:///mnt/backup/fvm',
  ]

  static override args = {
    name: Args.string({description: 'the remote (chosen from a list on a terminal)'}),
    address: Args.string({description: 'its new address (asked for on a terminal)'}),
  }

  static override flags = {home: homeFlag}

  public async run(): Promise<SetUrlResult> {
    const {args, flags} = await this.parse(RemoteSetUrl)
    const home = resolveHome(flags.home)
    const json = this.jsonEnabled()
    const where = {cwd: process.cwd(), userHome: os.homedir()}
    const hint = 'name both: fvm remote set-url NAME ADDRESS'
    const names = (): string[] => (canPrompt(json) ? listRemotes({home}).map((r) => r.name) : [])
    const name = args.name ?? (await askSelect('Remote:', names(), {json, hint}))
    const url = args.address ?? (await askText(`New address of ${name}:`, (v) => addressProblem(v, where) ?? true, {json, hint}))
    const result = setRemoteUrl({home, name, url, ...where})
    this.log(`Remote ${result.name}: ${result.url} (was ${result.previousUrl})`)
    return result
  }
}
