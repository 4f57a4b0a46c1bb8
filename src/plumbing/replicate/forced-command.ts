// `fvm serve` as an ssh forced command (command="fvm serve --home /srv/fvm" in
// authorized_keys): sshd runs that instead of what the client asked for and puts the
// client's request in SSH_ORIGINAL_COMMAND. Only fvm's own verb is allowed, with only
// the options a client may pass; the forced command's own options win (a client cannot
// lift --read-only or pick another home). Nothing is ever run through a shell.
import path from 'node:path'
import {FvmError} from '../../errors.js'
import {printable} from '../names.js'
import {splitCommandLine} from '../transport/address.js'

export interface ServeSettings {
  home?: string
  readOnly: boolean
}

/** The settings a client's request may ask for, checked against what the forced command set. */
export function serveRequest(original: string, forced: ServeSettings): ServeSettings {
  const refuse = (why: string): never => {
    throw new FvmError('usage', `refused "${printable(original).slice(0, 200)}": ${why}`, {hint: 'this key only runs "fvm serve"'})
  }
  const words = splitCommandLine(original, 'ssh command')
  const [program, verb, ...options] = words
  if (program === undefined || path.basename(program) !== 'fvm' || verb !== 'serve') refuse('only "fvm serve" is allowed')
  let home: string | undefined
  let readOnly = false
  for (let i = 0; i < options.length; i++) {
    const option = options[i]
    if (option === '--read-only') readOnly = true
    else if (option === '--home' && i + 1 < options.length) home = options[++i]
    else if (option.startsWith('--home=')) home = option.slice('--home='.length)
    else refuse(`option "${printable(option).slice(0, 40)}" is not allowed`)
  }
  if (forced.home !== undefined && home !== undefined && path.resolve(home) !== path.resolve(forced.home)) {
    refuse(`this key serves the instance at "${forced.home}" only`)
  }
  return {home: forced.home ?? home, readOnly: forced.readOnly || readOnly}
}
