// How push, pull and fetch reach the other side. The ssh command comes from FVM_SSH
// (read here, so plumbing gets plain values) and this fvm's own argv is what a local
// remote runs. No oclif here: bin/fvm.js dials with it before oclif loads.
import os from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {splitCommandLine} from '../plumbing/transport/address.js'

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
