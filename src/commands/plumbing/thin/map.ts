import * as Args from '@oclif/core/args'
import {parseDeviceId, thinMappings} from '../../../plumbing/thin.js'
import {writeJsonWithArray} from '../../../ui/json-stream.js'
import {PlumbingCommand, poolFlag} from '../../../ui/plumbing-command.js'

export default class ThinMap extends PlumbingCommand<void> {
  static override summary = 'Print a thin device\'s mappings as JSON, streamed'
  static override description =
    'One JSON object: {"device": {...}, "mappings": [{"vblock", "dataBlock", "time"}, ...], "count": N}, in vblock ' +
    'order, written as the mapping tree is walked (bounded memory whatever the device size).'

  static override examples = [
    '<%= config.bin %> <%= command.id %> --pool /tmp/pool 1',
    {description: 'Count a device\'s mappings with jq', command: '<%= config.bin %> <%= command.id %> --pool /tmp/pool 1 | jq .count'},
  ]

  static override args = {id: Args.string({description: 'the device to read', required: true})}
  static override flags = {pool: poolFlag}

  public async run(): Promise<void> {
    const {args, flags} = await this.parse(ThinMap)
    const {device, mappings} = thinMappings({pool: flags.pool, id: parseDeviceId(args.id)})
    await writeJsonWithArray(process.stdout, {device}, 'mappings',
      (function* () {
        for (const m of mappings) yield {vblock: m.vblock, dataBlock: m.dataBlock, time: m.time}
      })(), (count) => ({count}))
  }
}
