// What `fvm serve` runs, with or without oclif: the settings an ssh forced command
// allows, then the protocol on stdin and stdout.
import fs from 'node:fs'
import {serveRequest} from '../plumbing/replicate/forced-command.js'
import {serve} from '../plumbing/replicate/serve.js'
import {DescriptorInput} from '../plumbing/transport/descriptor-input.js'
import {failpointFromEnv} from './failpoint.js'
import {resolveHome} from './home-dir.js'
import {enlargeStdioPipes} from './pipe-buffers.js'

export interface ServeFlags {
  /** --home, else $FVM_HOME. */
  home?: string
  readOnly: boolean
}

export async function serveStdio(flags: ServeFlags): Promise<void> {
  const original = process.env.SSH_ORIGINAL_COMMAND
  const settings = original === undefined ? flags : serveRequest(original, flags)
  enlargeStdioPipes()
  // A pipe or socket (as ssh and a local client give us) is read without a Node stream: see DescriptorInput.
  const input = isPipeOrSocket(0) ? new DescriptorInput(0) : process.stdin
  try {
    await serve({
      home: resolveHome(settings.home),
      readOnly: settings.readOnly,
      input,
      output: process.stdout,
      failpoint: await failpointFromEnv(),
    })
  } finally {
    // Input after the session (or a failed one) is not ours to wait for.
    input.destroy()
  }
}

function isPipeOrSocket(fd: number): boolean {
  try {
    const stats = fs.fstatSync(fd)
    return stats.isFIFO() || stats.isSocket()
  } catch {
    return false
  }
}
