import * as Args from '@oclif/core/args'
import os from 'node:os'
import {nameProblem} from '../../plumbing/names.js'
import {type Remote, addRemote} from '../../plumbing/remotes.js'
import {addressProblem} from '../../plumbing/transport/address.js'
import {FvmCommand} from '../../ui/command.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {askText} from '../../ui/prompt.js'

export default class RemoteAdd extends FvmCommand<Remote> {
  static override summary = 'Add a remote: a name for another instance'
  static override description =
    'ADDRESS takes one of the forms git remotes take:\n\n' +
    'ssh://[user@]host[:port][/path]  ssh; "/~/x": x in the remote user\'s home\n' +
    '[user@]host:path                 ssh; a relative path is in that home\n' +
    'host, user@host                  ssh; the remote fvm\'s default home\n' +
    'file:///path, /path, ./path      an instance on this machine (its home)\n\n' +
    'ssh runs as "ssh" or as $FVM_SSH (e.g. "ssh -F ~/my_config"), so ~/.ssh/config applies. IPv6 addresses go in ' +
    'brackets ([::1]). The address is checked, then stored in one canonical form (a local path made absolute).'

  static override examples = [
    {description: 'A host name: ssh, default home', command: '<%= config.bin %> <%= command.id %> beta beta.example.com'},
    {description: 'scp-like, with a user and a home in that user\'s home directory', command: '<%= config.bin %> <%= command.id %> beta alice@beta.example.com:fvm'},
    {description: 'An ssh URL with a port and an absolute home', command: '<%= config.bin %> <%= command.id %> beta ssh://alice@beta.example.com:2222/srv/fvm'},
    {description: 'IPv6', command: '<%= config.bin %> <%= command.id %> beta \'ssh://[2001:db8::1]/srv/fvm\''},
    {description: 'Another instance on this machine', command: '<%= config.bin %> <%= command.id %> backup /var/lib/fvm-backup'},
    {description: 'The same as a URL', command: '<%= config.bin %> <%= command.id %> backup file:///var/lib/fvm-backup'},
  ]

  static override args = {
    name: Args.string({description: 'the remote\'s name (asked for on a terminal)'}),
    address: Args.string({description: 'where the instance is (asked for on a terminal)'}),
  }

  static override flags = {home: homeFlag}

  public async run(): Promise<Remote> {
    const {args, flags} = await this.parse(RemoteAdd)
    const home = resolveHome(flags.home)
    const json = this.jsonEnabled()
    const where = {cwd: process.cwd(), userHome: os.homedir()}
    const hint = 'name both: fvm remote add NAME ADDRESS'
    const name = args.name ?? (await askText('Name of the remote:', (v) => nameProblem(v) ?? true, {json, hint}))
    const url = args.address ?? (await askText(`Address of ${name}:`, (v) => addressProblem(v, where) ?? true, {json, hint}))
    const remote = addRemote({home, name, url, ...where})
    this.log(`Added remote ${remote.name}: ${remote.url}`)
    return remote
  }
}
