import {type Remote, listRemotes} from '../../plumbing/remotes.js'
import {ADDRESS_FORMS} from '../../plumbing/transport/address.js'
import {FvmCommand} from '../../ui/command.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {renderTable} from '../../ui/table.js'

export default class RemoteList extends FvmCommand<Remote[]> {
  static override summary = 'List remotes: other instances, by the names push and pull use'
  static override description =
    'One row per remote: its name, its address and, once a push or pull has met it, its instance name (what its ' +
    'remote branches are called here). --json prints an array of objects.\n\n' +
    `An address is ${ADDRESS_FORMS}. Remotes live in the instance's fvm.yaml.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {description: 'Add one, then list them as JSON', command: '<%= config.bin %> <%= command.id %> add beta alice@beta.example.com && <%= config.bin %> <%= command.id %> --json'},
  ]

  static override flags = {home: homeFlag}

  public async run(): Promise<Remote[]> {
    const {flags} = await this.parse(RemoteList)
    const remotes = listRemotes({home: resolveHome(flags.home)})
    if (this.jsonEnabled()) return remotes
    if (remotes.length === 0) {
      this.say('no remotes yet; add one with "fvm remote add NAME ADDRESS"')
      return remotes
    }
    const rows = remotes.map((r) => [r.name, r.url, r.instance ?? '-'])
    this.log((await renderTable(['NAME', 'URL', 'INSTANCE'], rows)).trimEnd())
    return remotes
  }
}
