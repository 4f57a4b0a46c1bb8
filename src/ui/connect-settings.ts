// How push, pull and fetch reach the other side. The ssh command comes from FVM_SSH, and
// how long ssh keeps a connection open for the next command from FVM_SSH_PERSIST (read
// here, so plumbing gets plain values); this fvm's own argv is what a local remote runs.
// No oclif here: bin/fvm.js dials with it before oclif loads.
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {FvmError} from '../errors.js'
import {splitCommandLine} from '../plumbing/transport/address.js'
import type {SshReuse} from '../plumbing/transport/ssh-reuse.js'

const binFvm = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/fvm.js')

/** How long ssh keeps a connection open for the next push, pull or fetch unless FVM_SSH_PERSIST says otherwise. */
const DEFAULT_PERSIST_SECONDS = 60
/** A day: longer is surely a mistake. */
const MAX_PERSIST_SECONDS = 86_400

export interface ConnectSettings {
  sshCommand: string[]
  sshReuse: SshReuse
  localFvm: string[]
  remoteFvm: string
  cwd: string
  userHome: string
}

export function connectSettings(remoteFvm: string): ConnectSettings {
  const ssh = process.env.FVM_SSH
  return {
    sshCommand: ssh === undefined || ssh.trim() === '' ? ['ssh'] : splitCommandLine(ssh, 'FVM_SSH'),
    sshReuse: sshReuse(process.env.FVM_SSH_PERSIST),
    localFvm: [process.execPath, binFvm],
    remoteFvm,
    cwd: process.cwd(),
    userHome: os.homedir(),
  }
}

/** Control sockets in the user's runtime directory (or a private one in /tmp), kept FVM_SSH_PERSIST seconds. */
function sshReuse(persist: string | undefined): SshReuse {
  const uid = process.getuid?.()
  const runtime = process.env.XDG_RUNTIME_DIR
  const dir = runtime !== undefined && path.isAbsolute(runtime) ? path.join(runtime, 'fvm-ssh') : path.join(os.tmpdir(), `fvm-ssh-${uid}`)
  const seconds = persist === undefined || persist.trim() === '' ? DEFAULT_PERSIST_SECONDS : persistSeconds(persist)
  // Without a uid to check the directory's owner against, nothing is kept.
  return {dir, uid: uid ?? -1, persistSeconds: uid === undefined ? 0 : seconds}
}

function persistSeconds(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) > MAX_PERSIST_SECONDS) {
    throw new FvmError('usage', `invalid FVM_SSH_PERSIST "${text}": not a number of seconds from 0 to ${MAX_PERSIST_SECONDS}`, {
      hint: 'FVM_SSH_PERSIST=0 keeps no ssh connection open after a command',
    })
  }
  return Number(text)
}

/** The other side's stderr, shown as git shows it. */
export function remoteChatter(line: string): void {
  if (line.trim() !== '') process.stderr.write(`remote: ${line}\n`)
}
