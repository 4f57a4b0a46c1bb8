import {type StatusReport, instanceStatus} from '../plumbing/porcelain/status.js'
import {FvmCommand} from '../ui/command.js'
import {homeFlag, resolveHome} from '../ui/home.js'
import {formatBytes} from '../ui/units.js'

const RECOVERED = {clean: 'nothing to recover', rolledForward: 'an interrupted change was completed', aborted: 'an interrupted change was undone'}

export default class Status extends FvmCommand<StatusReport> {
  static override summary = 'Show the instance: pool space, transaction, quota and health'
  static override description =
    'Pool data and metadata in use, the transaction id of the pool and of the catalog (they agree after every ' +
    'completed change), the volumes\' sizes added up against the quota (quota: SIZE in fvm.yaml), and health: ' +
    'whether the two ids agree, whether the pool\'s needs_check flag is set, and what opening did to a change a ' +
    'crash interrupted (completed or undone). An instance that cannot be opened is still described, with the ' +
    'reason; "fvm check" then looks closer.'

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json | jq .health']
  static override flags = {home: homeFlag}

  public async run(): Promise<StatusReport> {
    const {flags} = await this.parse(Status)
    const s = instanceStatus({home: resolveHome(flags.home)})
    const {pool, catalog, health} = s
    const data = `${formatBytes(pool.usedDataBlocks * pool.dataBlockSize)} of ${formatBytes(pool.totalDataBlocks * pool.dataBlockSize)}`
    const quota = s.quota === null ? 'no quota' : `quota ${formatBytes(s.quota)}`
    const lines: [string, string][] = [
      ['pool data', `${data} (${pool.usedDataBlocks} of ${pool.totalDataBlocks} blocks)`],
      ['pool metadata', `${pool.usedMetadataBlocks} of ${pool.totalMetadataBlocks} blocks`],
      ['transaction', `pool ${pool.transactionId}, catalog ${catalog.transactionId}${catalog.prepared === null ? '' : ` (${catalog.prepared} prepared)`}`],
      ['volumes', `${catalog.volumes}, addressing ${formatBytes(catalog.addressedBytes)} (${quota})`],
      ['health', health.ok ? `ok, ${RECOVERED[health.recovered!]}` : `damaged: ${health.problem}`],
      ['ids agree', health.idsAgree ? 'yes' : 'no'],
      ['needs_check', health.needsCheck ? 'set' : 'clear'],
    ]
    this.log(`instance ${s.instance.name} (${s.instance.uuid}) in ${s.instance.home}\n${lines.map(([k, v]) => `  ${k.padEnd(15)}${v}`).join('\n')}`)
    if (!health.ok) this.say('hint: run "fvm check"')
    return s
  }
}
