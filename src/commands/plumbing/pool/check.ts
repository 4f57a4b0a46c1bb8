import * as Flags from '@oclif/core/flags'
import {ExitCode} from '../../../errors.js'
import {type PoolCheckReport, checkPool, parseCount} from '../../../plumbing/pool.js'
import {PlumbingCommand, poolFlag} from '../../../ui/plumbing-command.js'

export default class PoolCheck extends PlumbingCommand<PoolCheckReport> {
  static override summary = 'Verify a pool\'s metadata as the strict thin_check does'
  static override description =
    'Checks every metadata block\'s checksum and btree invariants, recomputes every metadata and data reference ' +
    'count and compares them with the space maps, and checks mapped_blocks and the device trees. Prints the report; ' +
    'exits 0 when there is no damage (leaked blocks are reported but not fatal) and 5 when there is.'

  static override examples = ['<%= config.bin %> <%= command.id %> --pool /tmp/pool']
  static override flags = {
    pool: poolFlag,
    'max-issues': Flags.string({description: 'report at most this many issues', helpValue: 'N', default: '100'}),
  }

  public async run(): Promise<PoolCheckReport> {
    const {flags} = await this.parse(PoolCheck)
    const report = checkPool({pool: flags.pool, maxIssues: parseCount(flags['max-issues'], 'issue limit')})
    if (!report.ok) process.exitCode = ExitCode.corrupt
    return report
  }
}
