import {ExitCode} from '../errors.js'
import {type InstanceCheck, checkInstance} from '../plumbing/porcelain/check.js'
import {FvmCommand} from '../ui/command.js'
import {homeFlag, resolveHome} from '../ui/home.js'

export default class Check extends FvmCommand<InstanceCheck> {
  static override summary = 'Verify the pool metadata and the catalog, and that they agree'
  static override description =
    'Checks the pool\'s dm-thin metadata as the strict thin_check does (checksums, btrees, every reference ' +
    'count), then the catalog on its own (every link resolves, names valid, quota kept), then the two together: ' +
    'the transaction ids in step, every thin device the catalog names present in the pool, and no device besides ' +
    '0 that the catalog does not name. Changes nothing (a change a crash interrupted is reported; the next command ' +
    'completes or undoes it). Exits 0 when there is no damage (leaked blocks are reported, not damage) and 5 when ' +
    'there is. --json prints the whole report.'

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json | jq .problems']
  static override flags = {home: homeFlag}

  public async run(): Promise<InstanceCheck> {
    const {flags} = await this.parse(Check)
    const report = checkInstance({home: resolveHome(flags.home)})
    const {metadata, pool, catalog} = report
    if (metadata?.ok) {
      const leaks = metadata.leaks > 0 ? `, ${metadata.leaks} leaked blocks` : ''
      this.log(`metadata: ok (${metadata.devices} devices, ${metadata.mappings} mappings${leaks})`)
    }
    if (catalog) {
      const {interrupted: cut} = catalog
      const interrupted = cut ? `; transaction ${cut.transactionId} was interrupted, the next command will ${cut.outcome === 'abort' ? 'undo' : 'complete'} it` : ''
      const counts = `${catalog.volumes} volumes, ${catalog.snapshots} snapshots`
      this.log(`catalog: transaction ${catalog.transactionId} (pool ${pool?.transactionId}), ${counts}${interrupted}`)
    }
    for (const problem of report.problems) this.log(`error: ${problem}`)
    if (report.ok) this.log('ok: no damage found')
    else {
      process.exitCode = ExitCode.corrupt
      this.say(`hint: ${report.problems.length} problem(s) found; nothing was changed`)
    }
    return report
  }
}
