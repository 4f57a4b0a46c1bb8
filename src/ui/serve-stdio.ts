// What `fvm serve` runs, with or without oclif: the settings an ssh forced command
// allows, then the protocol on stdin and stdout.
import {serveRequest} from '../plumbing/replicate/forced-command.js'
import {serve} from '../plumbing/replicate/serve.js'
import {DescriptorInput} from '../plumbing/transport/descriptor-input.js'
import {failpointFromEnv} from './failpoint.js'
import {resolveHome} from './home-dir.js'
import {enlargeStdioPipes} from './pipe-buffers.js'
import {stdioKind} from './stdio-kind.js'

export interface ServeFlags {
  /** --home, else $FVM_HOME. */
  home?: string
  readOnly: boolean
}

export async function serveStdio(flags: ServeFlags): Promise<void> {
  const original = process.env.SSH_ORIGINAL_COMMAND
  const settings = original === undefined ? flags : serveRequest(original, flags)
  const kinds = {stdin: stdioKind(0), stdout: stdioKind(1)}
  enlargeStdioPipes(kinds)
  // A pipe or socket (as ssh and a local client give us) is read without a Node stream: see DescriptorInput.
  const input = kinds.stdin === 'other' ? process.stdin : new DescriptorInput(0)
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
