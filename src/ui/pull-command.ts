// pull and fetch are one transfer (plumbing's pull) with or without moving the local
// branch; this runs it and prints what happened, for both commands.
import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {ExitCode} from '../errors.js'
import {type PullResult, pull} from '../plumbing/replicate/pull.js'
import {failpointFromEnv} from './failpoint.js'
import {homeFlag, resolveHome} from './home.js'
import {connectSettings, remoteChatter} from './connect-settings.js'
import {takeEarlyConnection} from './early-dial.js'
import {remoteFvmFlag} from './remote-flags.js'
import {transferBars} from './transfer-progress.js'
import {formatBytes} from './units.js'

export const pullArgs = {
  remote: Args.string({description: 'a remote\'s name or an address', required: true}),
  refs: Args.string({description: 'VOLUME (its trunk) or VOLUME/BRANCH as the remote names them, any number', required: true}),
}

export const pullFlags = {
  home: homeFlag,
  force: Flags.boolean({char: 'f', description: 'replace a remote branch\'s head that is not an ancestor (kept in its reflog)'}),
  as: Flags.string({description: 'the volume\'s name here, if it is new here', helpValue: 'NAME'}),
  'remote-fvm': remoteFvmFlag,
}

export interface PullFlags {
  home?: string
  force?: boolean
  as?: string
  'remote-fvm': string
}

export async function runPull(argv: string[], flags: PullFlags, merge: boolean, json: boolean, log: (line: string) => void): Promise<PullResult> {
  const [remote, ...refs] = argv
  const bars = transferBars(json)
  const result = await pull({
    home: resolveHome(flags.home),
    remote,
    refs,
    force: flags.force ?? false,
    merge,
    as: flags.as,
    ...connectSettings(flags['remote-fvm']),
    started: takeEarlyConnection,
    onStderr: remoteChatter,
    progress: (label, total) => bars.start(`fetch ${label}`, total),
    failpoint: await failpointFromEnv(),
  }).finally(() => bars.finish())
  for (const b of result.branches) {
    const what = b.action === 'up-to-date' ? 'up to date' : b.action === 'refused' ? `refused: ${b.reason}` : `${b.action}, ${formatBytes(b.dataBytes)} received`
    log(`${result.instance}:${b.branch} -> ${b.remoteBranch}  ${what}`)
    if (b.local) log(`${b.local.branch}: ${b.local.action === 'diverged' ? `not moved: it has changes of its own (fvm branch ${b.local.branch}-new --from ${b.remoteBranch} makes a branch of what came)` : b.local.action}`)
  }
  if (result.branches.some((b) => b.action === 'refused' || b.local?.action === 'diverged')) process.exitCode = ExitCode.conflict
  return result
}
