import fs from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {IO_CHUNK, pageAlignedBuffer} from '../../../dm/thin/volume-range.js'
import {parseDeviceId} from '../../../plumbing/thin.js'
import {parseSize} from '../../../plumbing/sizes.js'
import {type ThinWriteReport, writeThin} from '../../../plumbing/volume-io.js'
import {PlumbingCommand, failpointFromEnv, poolFlag} from '../../../ui/plumbing-command.js'

export default class ThinWrite extends PlumbingCommand<ThinWriteReport> {
  static override summary = 'Write stdin into a thin device'
  static override description =
    'Writes the bytes of stdin into the device from --offset on (any byte offset), as the kernel\'s thin target ' +
    'would: blocks shared with a snapshot are copied first, so the snapshot never changes; new blocks read as zeros ' +
    'around what was written. Committed once at the end: if it fails (out of space, input shorter than --length), ' +
    'no new mapping is kept. Prints a JSON summary.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> --pool /tmp/pool 1 < disk.img',
    {description: 'Write 4 KiB at 1 MiB', command: 'head -c 4096 /dev/urandom | <%= config.bin %> <%= command.id %> --pool /tmp/pool 1 --offset 1MiB'},
  ]

  static override args = {id: Args.string({description: 'the device to write', required: true})}
  static override flags = {
    pool: poolFlag,
    offset: Flags.string({description: 'byte offset to write at (a size: 4096, 64KiB, 1G)', helpValue: 'SIZE', default: '0'}),
    length: Flags.string({description: 'write exactly this many bytes of stdin (default: all of it)', helpValue: 'SIZE'}),
  }

  public async run(): Promise<ThinWriteReport> {
    const {args, flags} = await this.parse(ThinWrite)
    const id = parseDeviceId(args.id)
    const offset = parseSize(flags.offset, 'offset')
    const length = flags.length === undefined ? undefined : parseSize(flags.length, 'length')
    return writeThin({pool: flags.pool, id, offset, length, input: chunksOf(0), failpoint: await failpointFromEnv()})
  }
}

/**
 * A file descriptor (file, pipe or socket) in chunks of up to IO_CHUNK, read straight
 * into one reused, page-aligned buffer: a chunk is valid until the next is asked for.
 * Synchronous reads cost less than handing each chunk through the thread pool, and
 * fresh memory per chunk would cost a page fault per 4 KiB.
 */
async function* chunksOf(fd: number): AsyncGenerator<Buffer, void, undefined> {
  const buffer = pageAlignedBuffer(IO_CHUNK)
  for (;;) {
    let n: number
    try {
      n = fs.readSync(fd, buffer, 0, buffer.length, null)
    } catch (error) {
      // A descriptor inherited in non-blocking mode has nothing yet: wait for more.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error
      await sleep(1)
      continue
    }
    if (n === 0) return
    yield buffer.subarray(0, n)
  }
}
