// What `fvm serve` runs, with or without oclif: the settings an ssh forced command
// allows, then the protocol on stdin and stdout.
import {serveRequest} from '../plumbing/replicate/forced-command.js'
import {serve} from '../plumbing/replicate/serve.js'
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
  await serve({
    home: resolveHome(settings.home),
    readOnly: settings.readOnly,
    input: process.stdin,
    output: process.stdout,
    failpoint: await failpointFromEnv(),
  })
}
