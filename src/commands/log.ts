import * as Args from '@oclif/core/args'
import type {SnapshotOrigin, VolumeSource} from '../plumbing/catalog/model.js'
import {refChoices} from '../plumbing/porcelain/choices.js'
import {type HistoryEntry, type HistoryResult, history} from '../plumbing/porcelain/history.js'
import {FvmCommand} from '../ui/command.js'
import {homeFlag, resolveHome} from '../ui/home.js'
import {canPrompt} from '../ui/interactive.js'
import {askSelect} from '../ui/prompt.js'
import {formatBytes} from '../ui/units.js'

const short = (uuid: string | null): string => (uuid === null ? 'nothing' : uuid.slice(0, 8))
const named = (uuid: string | null, tags: string[]): string => (tags.length > 0 ? `${short(uuid)} (${tags.join(', ')})` : short(uuid))

function made(origin: SnapshotOrigin): string {
  switch (origin.kind) {
    case 'tag':
      return `tagged ${origin.tag}`
    case 'branch-point':
      return `branch point: ${origin.branch} made from ${origin.from}`
    case 'displaced':
      return `what ${origin.branch} held before a ${origin.by}`
    case 'push-base':
      return `frozen to push ${origin.branch}`
    case 'received':
      return `received from ${origin.instance} as its ${origin.branch}`
  }
}

function source(s: VolumeSource): string {
  switch (s.kind) {
    case 'empty':
      return 'empty'
    case 'image':
      return `from image ${s.image}`
    case 'copy':
      return `as a copy of ${s.ref}`
    case 'received':
      return `received from ${s.instance}`
  }
}

/** One entry as git log shows a commit: a headline, the date, an indented line. */
function render(e: HistoryEntry): string {
  switch (e.kind) {
    case 'snapshot':
      return `snapshot ${named(e.snapshot, e.tags)}\nDate: ${e.time}\n    ${made(e.origin)}${e.device === null ? ' (collected)' : ''}`
    case 'reflog': {
      const line = {
        create: e.to === null ? 'created empty' : `created from ${named(e.to, e.tags)}`,
        rollback: `rolled back to ${named(e.to, e.tags)}; what it held is kept as ${short(e.displaced)}`,
        'rollback-undo': `rollback undone: back to ${short(e.to)}; what it held is kept as ${short(e.displaced)}`,
        'fast-forward': `fast-forwarded to ${named(e.to, e.tags)} by a pull`,
        received: `received ${named(e.to, e.tags)}`,
        forced: `received ${named(e.to, e.tags)} by a forced push; the head it replaced is kept as ${short(e.displaced)}`,
      }[e.action]
      return `${e.action} ${e.branch}\nDate: ${e.time}\n    ${e.branch} ${line}`
    }
    case 'volume':
      return `volume ${e.volume}\nDate: ${e.time}\n    created ${source(e.source)}, ${formatBytes(e.size)}`
  }
}

export default class Log extends FvmCommand<HistoryResult> {
  static override summary = 'Show the history of a volume or a branch'
  static override description =
    'Newest first, with times: the snapshots of the line (tags, branch points, push bases, received heads; ' +
    'snapshot ids shortened to 8 characters) and what happened to its branches (created, rolled back, rollback ' +
    'undone). For a volume, every branch\'s history together; for VOLUME/BRANCH, the snapshots its content ' +
    'descends from and the branch\'s own reflog. A tag (TAG@VOLUME) or remote branch shows its lineage. --json ' +
    'prints {"ref", "volume", "entries": [...]} with full ids.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> mydata',
    '<%= config.bin %> <%= command.id %> mydata/trunk',
    {description: 'The times of every rollback', command: '<%= config.bin %> <%= command.id %> mydata --json | jq \'.entries[] | select(.action == "rollback") | .time\''},
  ]

  static override args = {ref: Args.string({description: 'VOLUME, VOLUME/BRANCH, TAG@VOLUME or HOST/VOLUME/BRANCH (chosen from a list on a terminal)'})}
  static override flags = {home: homeFlag}

  public async run(): Promise<HistoryResult> {
    const {args, flags} = await this.parse(Log)
    const home = resolveHome(flags.home)
    const json = this.jsonEnabled()
    const choices = (): string[] => [...refChoices({home, kind: 'volume'}), ...refChoices({home, kind: 'branch'})].sort()
    const ref = args.ref ?? (await askSelect('History of:', canPrompt(json) ? choices() : [], {json, hint: 'name it: fvm log VOLUME or fvm log VOLUME/BRANCH'}))
    const result = history({home, ref})
    this.log(result.entries.map(render).join('\n\n'))
    return result
  }
}
