import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import type {ToolGeneration} from '../../../dm/thin/xml-delta.js'
import {FvmError} from '../../../errors.js'
import {type ThinDelta as Delta, thinDelta, thinDeltaXml} from '../../../plumbing/delta.js'
import {parseDeviceId} from '../../../plumbing/thin.js'
import {FvmCommand} from '../../../ui/command.js'
import {writeJsonWithArray} from '../../../ui/json-stream.js'
import {poolFlag} from '../../../ui/plumbing-command.js'

export default class ThinDelta extends FvmCommand<void> {
  static override summary = 'Compare two thin devices, as thin_delta does'
  static override description =
    'LEFT is the before and RIGHT the after (thin_delta --snap1 LEFT --snap2 RIGHT). One JSON object, streamed: ' +
    '{"left": LEFT, "right": RIGHT, "blockSize": BYTES, "ranges": [...], "count": N, "changedBlocks": N}. Each range ' +
    'covers thin blocks [begin, begin+length): {"kind": "different", "begin", "length", "leftDataBegin", ' +
    '"rightDataBegin"} where both map them, to different data blocks, {"kind": "left_only" | "right_only" | "same", "begin", ' +
    '"length", "dataBegin"} where one maps them, or both to the same data; data blocks run on with the thin blocks ' +
    'inside a range. count is the number of ranges, changedBlocks the blocks in ranges other than same.\n\n' +
    'By default only the changes are listed, and subtrees the two devices still share are skipped unread, so ' +
    'comparing a snapshot with its origin costs what changed since, not the device size. --same adds the same ' +
    'ranges, which reads both devices whole.\n\n' +
    '--xml prints what thin_delta prints on the pool\'s metadata file instead, byte for byte, same ranges included: ' +
    'thin_delta 0.9 (Debian 12) by default, 1.x with --format v1, and --verbose output with --verbose. Errors then ' +
    'go to stderr (JSON on stdout with --json).'

  static override examples = [
    '<%= config.bin %> <%= command.id %> --pool /tmp/pool 1 2',
    {description: 'Blocks changed in snapshot 2 since it was taken of 1', command: '<%= config.bin %> <%= command.id %> --pool /tmp/pool 1 2 | jq .changedBlocks'},
    {description: 'Compare with the real tool', command: 'diff <(<%= config.bin %> <%= command.id %> --pool /tmp/pool --xml 1 2) <(thin_delta --snap1 1 --snap2 2 /tmp/pool/metadata)'},
  ]

  static override args = {
    left: Args.string({description: 'the device before (thin_delta --snap1)', required: true}),
    right: Args.string({description: 'the device after (thin_delta --snap2)', required: true}),
  }

  static override flags = {
    pool: poolFlag,
    same: Flags.boolean({description: 'also list the ranges both devices map to the same data blocks (reads both devices whole)'}),
    xml: Flags.boolean({description: 'print thin_delta\'s XML instead of JSON (same ranges included)'}),
    verbose: Flags.boolean({description: 'with --xml: thin_delta --verbose output, with data blocks'}),
    format: Flags.string({description: 'with --xml: the thin_delta generation to match, 0.9 (default) or 1.x', helpValue: 'v0.9|v1'}),
  }

  // JSON on stdout unless --xml: then errors go to stderr, as for pool dump.
  override jsonEnabled(): boolean {
    return !this.argv.includes('--xml') || super.jsonEnabled()
  }

  public async run(): Promise<void> {
    const {args, flags} = await this.parse(ThinDelta)
    const o = {pool: flags.pool, left: parseDeviceId(args.left), right: parseDeviceId(args.right)}
    // Checked here rather than by oclif (dependsOn, options), whose messages and exit codes differ from ours.
    if (!flags.xml && (flags.verbose || flags.format !== undefined)) {
      throw new FvmError('usage', '--verbose and --format only apply to --xml output')
    }
    const generation = parseGeneration(flags.format)
    if (flags.xml) {
      thinDeltaXml({...o, generation, verbose: flags.verbose}, (chunk) => process.stdout.write(chunk))
      return
    }
    await writeDeltaJson(thinDelta({...o, same: flags.same}))
  }
}

function parseGeneration(format = 'v0.9'): ToolGeneration {
  if (format !== 'v0.9' && format !== 'v1') throw new FvmError('usage', `invalid --format "${format}": expected v0.9 or v1`)
  return format
}

async function writeDeltaJson(delta: Delta): Promise<void> {
  let changedBlocks = 0
  const ranges = (function* () {
    for (const r of delta.ranges) {
      if (r.kind !== 'same') changedBlocks += r.length
      yield r
    }
  })()
  await writeJsonWithArray(process.stdout, {left: delta.left, right: delta.right, blockSize: delta.blockSize}, 'ranges',
    ranges, (count) => ({count, changedBlocks}))
}
