import * as Args from '@oclif/core/args'
import {type PoolReport, parseCount, setPoolTransactionId} from '../../../plumbing/pool.js'
import {PlumbingCommand, failpointFromEnv, poolFlag} from '../../../ui/plumbing-command.js'

export default class PoolSetTransactionId extends PlumbingCommand<PoolReport> {
  static override summary = 'Compare-and-swap the pool\'s transaction id'
  static override description =
    'Sets the transaction id to NEW if it is currently OLD, like the kernel\'s set_transaction_id message; otherwise ' +
    'fails with the conflict code and changes nothing.'

  static override examples = ['<%= config.bin %> <%= command.id %> --pool /tmp/pool 0 1']
  static override args = {
    old: Args.string({description: 'the transaction id the pool must have now', required: true}),
    new: Args.string({description: 'the transaction id to set', required: true}),
  }

  static override flags = {pool: poolFlag}

  public async run(): Promise<PoolReport> {
    const {args, flags} = await this.parse(PoolSetTransactionId)
    return setPoolTransactionId({
      pool: flags.pool,
      current: parseCount(args.old, 'transaction id'),
      next: parseCount(args.new, 'transaction id'),
      failpoint: await failpointFromEnv(),
    })
  }
}
