import * as Flags from '@oclif/core/flags'
import {type GcResult, collectGarbage} from '../plumbing/porcelain/gc.js'
import {FvmCommand} from '../ui/command.js'
import {failpointFromEnv} from '../ui/failpoint.js'
import {homeFlag, resolveHome} from '../ui/home.js'

export default class Gc extends FvmCommand<GcResult> {
  static override summary = 'Delete the snapshots nothing needs any more'
  static override description =
    'A snapshot keeps its thin device while it is a tag, a branch\'s base, a remote branch\'s head, what a push ' +
    'last sent, or content a kept rollback entry can restore. gc keeps the newest 10 rollback entries of each ' +
    'branch and remote branch (older ones can no longer be undone), deletes the devices of the snapshots nothing ' +
    'else needs, drops what interrupted transfers staged (the next push starts that stream over), and forgets ' +
    'snapshot records no kept history leads to. --dry-run shows what it would do and changes nothing.'

  static override examples = ['<%= config.bin %> <%= command.id %> --dry-run', '<%= config.bin %> <%= command.id %>']
  static override flags = {
    home: homeFlag,
    'dry-run': Flags.boolean({description: 'show what would be collected; change nothing'}),
  }

  public async run(): Promise<GcResult> {
    const {flags} = await this.parse(Gc)
    const result = collectGarbage({home: resolveHome(flags.home), dryRun: flags['dry-run'], failpoint: await failpointFromEnv()})
    const verb = result.dryRun ? 'would ' : ''
    for (const c of result.collected) {
      this.log(`${verb}delete device ${c.device}: snapshot ${c.snapshot.slice(0, 8)} of ${c.volume} (${c.origin.kind}, ${c.created})`)
    }
    for (const e of result.expired) this.log(`${verb}expire ${e.entries} reflog entries of ${e.branch}`)
    for (const a of result.abandoned) {
      this.log(`${verb}delete device ${a.device}: snapshot ${a.snapshot.slice(0, 8)} half received from ${a.from} (${a.received} bytes in)`)
    }
    const entries = result.expired.reduce((n, e) => n + e.entries, 0)
    const devices = result.collected.length + result.abandoned.length
    const summary = `${devices} devices, ${entries} reflog entries, ${result.forgotten.length} snapshot records`
    this.log(result.dryRun ? `would collect ${summary}` : `collected ${summary}`)
    return result
  }
}
