import {dumpPoolXml} from '../../../plumbing/pool-xml.js'
import {FvmCommand} from '../../../ui/command.js'
import {poolFlag} from '../../../ui/plumbing-command.js'

export default class PoolDump extends FvmCommand<void> {
  static override summary = 'Print a pool\'s metadata as thin_dump XML'
  static override description =
    'Writes the same text as thin_dump 0.9 on the pool\'s metadata file, streamed: every device and its mappings, ' +
    'with runs merged as thin_dump merges them. Errors go to stderr (JSON on stdout with --json).'

  static override examples = [
    '<%= config.bin %> <%= command.id %> --pool /tmp/pool > pool.xml',
    {description: 'Compare with the real tool', command: 'diff <(<%= config.bin %> <%= command.id %> --pool /tmp/pool) <(thin_dump /tmp/pool/metadata)'},
  ]

  static override flags = {pool: poolFlag}

  public async run(): Promise<void> {
    const {flags} = await this.parse(PoolDump)
    dumpPoolXml({pool: flags.pool}, (chunk) => process.stdout.write(chunk))
  }
}
