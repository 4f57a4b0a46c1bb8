import * as Args from '@oclif/core/args'
import {type DiffExtent, diff} from '../plumbing/porcelain/diff.js'
import {refChoices} from '../plumbing/porcelain/choices.js'
import {checkRef} from '../plumbing/porcelain/entry.js'
import {FvmCommand} from '../ui/command.js'
import {homeFlag, resolveHome} from '../ui/home.js'
import {canPrompt} from '../ui/interactive.js'
import {writeJsonWithArray} from '../ui/json-stream.js'
import {askSelect} from '../ui/prompt.js'
import {renderTable} from '../ui/table.js'
import {formatBytes} from '../ui/units.js'

/** Rows per table rendered: the table library takes time per row, so big diffs go out in parts. */
const ROWS_PER_PART = 1000

export default class Diff extends FvmCommand<void> {
  static override summary = 'Show the bytes that changed between two branches or tags of a volume'
  static override description =
    'Compares OLD with NEW, two branches, tags or remote branches of the same volume, and lists the extents that ' +
    'differ, in bytes: added (mapped only in NEW), removed (mapped only in OLD: NEW reads zeros there) and changed ' +
    '(both hold data, different blocks), then a summary line. It compares the pool\'s block mappings, not the ' +
    'bytes: the unit is the pool\'s data block (64 KiB by default), and a block rewritten with the same bytes ' +
    'counts as changed (fvm volume import skips such blocks, so they stay shared). Subtrees the two still share ' +
    'are skipped unread, so the cost follows what changed, not the volume\'s size.\n\n' +
    '--json prints {"volume", "size", "blockSize", "left": {"ref", "device"}, "right": {"ref", "device"}, ' +
    '"extents": [{"offset", "length", "kind"}], "count", "changedBytes"}, one extent per line.'

  static override examples = [
    {description: 'What changed on the trunk since tag v1', command: '<%= config.bin %> <%= command.id %> v1@mydata mydata/trunk'},
    {description: 'Between two branches', command: '<%= config.bin %> <%= command.id %> mydata/trunk mydata/feature'},
    {description: 'Bytes changed since what beta last received', command: '<%= config.bin %> <%= command.id %> beta/mydata/trunk mydata/trunk --json | jq .changedBytes'},
  ]

  static override args = {
    old: Args.string({description: 'the before: VOLUME/BRANCH, TAG@VOLUME or HOST/VOLUME/BRANCH (chosen from a list on a terminal)'}),
    new: Args.string({description: 'the after, of the same volume (chosen from a list on a terminal)'}),
  }

  static override flags = {home: homeFlag}

  public async run(): Promise<void> {
    const {args, flags} = await this.parse(Diff)
    const home = resolveHome(flags.home)
    const json = this.jsonEnabled()
    const refs = (volume?: string): string[] => [...refChoices({home, kind: 'branch', volume}), ...refChoices({home, kind: 'tag', volume})].sort()
    const left = args.old ?? (await askSelect('Compare from:', canPrompt(json) ? refs() : [], {json, hint: 'name both: fvm diff OLD NEW, e.g. fvm diff v1@mydata mydata/trunk'}))
    const right = args.new ?? (await askSelect(`Compare ${left} with:`, canPrompt(json) ? refs(checkRef(left, ['branch', 'remote-branch', 'tag']).volume) : [], {
      json,
      hint: `name what to compare it with: fvm diff ${left} NEW`,
    }))
    const {extents, count, changedBytes, ...head} = diff({home, left, right})
    if (json) {
      await writeJsonWithArray(process.stdout, head, 'extents', extents, () => ({count, changedBytes}))
      return
    }
    // Numbers right-aligned to the widest the volume allows, so the parts line up.
    const width = Math.max(String(head.size).length, 'OFFSET'.length)
    const row = (e: DiffExtent): string[] => [String(e.offset).padStart(width), String(e.length).padStart(width), e.kind]
    for (let at = 0; at < count; at += ROWS_PER_PART) {
      const columns = at === 0 ? ['OFFSET'.padStart(width), 'LENGTH'.padStart(width), 'KIND'] : []
      this.log((await renderTable(columns, extents.slice(at, at + ROWS_PER_PART).map(row))).trimEnd())
    }
    this.log(`${count} extent${count === 1 ? '' : 's'}, ${formatBytes(changedBytes)} changed`)
  }
}
