// What push, pull and fetch share: how to reach the other side. The ssh command comes
// from FVM_SSH (read here, so plumbing gets plain values) and this fvm's own argv is
// what a local remote runs.
import * as Flags from '@oclif/core/flags'
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {splitCommandLine} from '../plumbing/transport/address.js'

export const remoteFvmFlag = Flags.string({
  description: 'the fvm program on the other side of ssh',
  env: 'FVM_REMOTE_FVM',
  default: 'fvm',
  helpValue: 'PATH',
})

const binFvm = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/fvm.js')

export function connectSettings(remoteFvm: string): {sshCommand: string[]; localFvm: string[]; remoteFvm: string; cwd: string; userHome: string} {
  const ssh = process.env.FVM_SSH
  return {
    sshCommand: ssh === undefined || ssh.trim() === '' ? ['ssh'] : splitCommandLine(ssh, 'FVM_SSH'),
    localFvm: [process.execPath, binFvm],
    remoteFvm,
    cwd: process.cwd(),
    userHome: os.homedir(),
  }
}

/** The other side's stderr, shown as git shows it. */
export function remoteChatter(line: string): void {
  if (line.trim() !== '') process.stderr.write(`remote: ${line}\n`)
}
