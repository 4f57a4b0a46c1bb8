import * as Args from '@oclif/core/args'
import type {VolumeSource} from '../../plumbing/catalog/model.js'
import {refChoices} from '../../plumbing/porcelain/choices.js'
import {type VolumeInfoResult, volumeInfo} from '../../plumbing/porcelain/volumes.js'
import {FvmCommand} from '../../ui/command.js'
import {homeFlag, resolveHome} from '../../ui/home.js'
import {canPrompt} from '../../ui/interactive.js'
import {askSelect} from '../../ui/prompt.js'
import {formatBytes} from '../../ui/units.js'

function describeSource(source: VolumeSource): string {
  switch (source.kind) {
    case 'empty':
      return 'empty'
    case 'image':
      return `image ${source.image}`
    case 'copy':
      return `copy of ${source.ref}`
    case 'received':
      return `received from ${source.instance}`
  }
}

export default class VolumeInfo extends FvmCommand<VolumeInfoResult> {
  static override summary = 'Show a volume: size, source, space used, branches, tags, snapshots'
  static override description =
    'What the catalog knows of the volume (uuid, virtual size, where its content came from, its branches, tags, ' +
    'remote branches and every snapshot with what still needs it) and the pool space it uses: distinct data ' +
    'blocks, and those no other volume maps (exclusive: what removing it would free).'

  static override examples = ['<%= config.bin %> <%= command.id %> mydata', '<%= config.bin %> <%= command.id %> mydata --json']
  static override args = {name: Args.string({description: 'the volume (chosen from a list on a terminal)'})}
  static override flags = {home: homeFlag}

  public async run(): Promise<VolumeInfoResult> {
    const {args, flags} = await this.parse(VolumeInfo)
    const home = resolveHome(flags.home)
    const json = this.jsonEnabled()
    const hint = 'name it: fvm volume info NAME'
    const name = args.name ?? (await askSelect('Volume:', canPrompt(json) ? refChoices({home, kind: 'volume'}) : [], {json, hint}))
    const info = volumeInfo({home, name})
    const list = (items: string[]): string => (items.length === 0 ? '-' : items.join(', '))
    const lines: [string, string][] = [
      ['uuid', info.uuid],
      ['size', `${formatBytes(info.size)} (${info.size} bytes)`],
      ['created', info.created],
      ['source', describeSource(info.source)],
      ['used', `${formatBytes(info.usedBytes)} (${info.usedBlocks} blocks), ${formatBytes(info.exclusiveBytes)} of it exclusive (${info.exclusiveBlocks} blocks)`],
      ['branches', list(info.branches.map((b) => b.branch))],
      ['tags', list(info.tags.map((t) => t.tag))],
      ['remote branches', list(info.remoteBranches.map((r) => r.remoteBranch))],
      ['snapshots', `${info.snapshots.length} (${info.snapshots.filter((s) => s.device !== null).length} with a device)`],
    ]
    this.log(`volume ${info.name}\n${lines.map(([k, v]) => `  ${k.padEnd(16)}${v}`).join('\n')}`)
    return info
  }
}
