import * as Args from '@oclif/core/args'
import {type RemoteInfo, listRemotes, showRemote} from '../../plumbing/remotes.js'
import {type RemoteAddress, formatSshHome} from '../../plumbing/transport/address.js'
import {FvmCommand} from '../../ui/command.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {canPrompt} from '../../ui/interactive.js'
import {askSelect} from '../../ui/prompt.js'

function describeTransport(address: RemoteAddress): string {
  if (address.kind === 'local') return `local, home ${address.home}`
  const parts = [`host ${address.host}`]
  if (address.user !== undefined) parts.push(`user ${address.user}`)
  if (address.port !== undefined) parts.push(`port ${address.port}`)
  return `ssh, ${parts.join(', ')}, home ${address.home === undefined ? 'the default' : formatSshHome(address.home)}`
}

export default class RemoteShow extends FvmCommand<RemoteInfo> {
  static override summary = 'Show a remote: its address, instance and remote branches'
  static override description =
    'Its address as stored and as fvm reads it (transport, host, user, port, home), its instance name once a push ' +
    'or pull has met it, and the remote branches that instance sent here. --json prints one object.'

  static override examples = ['<%= config.bin %> <%= command.id %> beta', '<%= config.bin %> <%= command.id %> beta --json | jq .address']
  static override args = {name: Args.string({description: 'the remote (chosen from a list on a terminal)'})}
  static override flags = {home: homeFlag}

  public async run(): Promise<RemoteInfo> {
    const {args, flags} = await this.parse(RemoteShow)
    const home = resolveHome(flags.home)
    const json = this.jsonEnabled()
    const names = (): string[] => (canPrompt(json) ? listRemotes({home}).map((r) => r.name) : [])
    const name = args.name ?? (await askSelect('Remote:', names(), {json, hint: 'name it: fvm remote show NAME'}))
    const info = showRemote({home, name})
    const branches = info.remoteBranches.map((b) => b.remoteBranch)
    const lines: [string, string][] = [
      ['url', info.url],
      ['transport', describeTransport(info.address)],
      ['instance', info.instance ?? 'not known until the first push or pull'],
      ['remote branches', branches.length === 0 ? '-' : branches.join(', ')],
    ]
    this.log(`remote ${info.name}\n${lines.map(([k, v]) => `  ${k.padEnd(16)}${v}`).join('\n')}`)
    return info
  }
}
