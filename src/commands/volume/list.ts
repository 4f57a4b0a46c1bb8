import {type VolumeListEntry, volumeList} from '../../plumbing/porcelain/volumes.js'
import {FvmCommand} from '../../ui/command.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {renderTable} from '../../ui/table.js'
import {formatBytes} from '../../ui/units.js'

export default class VolumeList extends FvmCommand<VolumeListEntry[]> {
  static override summary = 'List volumes with their size and the space they use'
  static override description =
    'One row per volume: its virtual size, branches, tags, the pool space its branches, tags and hidden snapshots ' +
    'use (distinct data blocks), and how much of that only it uses (blocks no other volume maps): what removing ' +
    'it would free. --json prints an array of objects with the same facts in bytes and blocks.'

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {description: 'Volumes over 1 GiB of exclusive data', command: '<%= config.bin %> <%= command.id %> --json | jq \'.[] | select(.exclusiveBytes > 1073741824) | .name\''},
  ]

  static override flags = {home: homeFlag}

  public async run(): Promise<VolumeListEntry[]> {
    const {flags} = await this.parse(VolumeList)
    const volumes = volumeList({home: resolveHome(flags.home)})
    if (this.jsonEnabled()) return volumes
    if (volumes.length === 0) {
      this.say('no volumes yet; create one with "fvm volume create NAME --size SIZE"')
      return volumes
    }
    const rows = volumes.map((v) => [v.name, formatBytes(v.size), v.branches, v.tags, formatBytes(v.usedBytes), formatBytes(v.exclusiveBytes)])
    this.log((await renderTable(['NAME', 'SIZE', 'BRANCHES', 'TAGS', 'USED', 'EXCLUSIVE'], rows)).trimEnd())
    return volumes
  }
}
