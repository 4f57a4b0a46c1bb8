// Connection reuse for OpenSSH's ssh: the first push, pull or fetch to a host leaves its
// connection open for a while (ControlMaster=auto with ControlPersist), and the next
// ones within it run over that connection without a new handshake, which is a third of
// a small push (~190 ms here), as Ansible does by default. Each ssh command line (the
// program and its options, user, port and host) gets a socket of its own, named by a
// hash of it, so another identity, config or forced-command key never shares one. The
// sockets live in a directory no one else can enter; where that cannot be had, or the
// command is not plain ssh, or it sets its own Control options, ssh runs as given.
import {createHash} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

export interface SshReuse {
  /** Where the control sockets go: made (0700) if missing, used only if ours and closed to others. */
  dir: string
  /** This process's uid: the directory's owner must be it. */
  uid: number
  /** How long an idle connection stays open, in seconds; 0: none is kept. */
  persistSeconds: number
}

/** sun_path holds 108 bytes with the terminating NUL. */
const SOCKET_PATH_LIMIT = 107
/** ssh makes the socket under a temporary name first: the path, a dot and 16 random characters. */
const SSH_TEMPORARY_SUFFIX = 17
const MAX_SOCKET_PATH = SOCKET_PATH_LIMIT - SSH_TEMPORARY_SUFFIX

/** The options that make sshCommand reuse a connection to the destination (ssh's words after the options: -p, -l, host), or none. */
export function reuseOptions(reuse: SshReuse | undefined, sshCommand: readonly string[], destination: readonly string[]): string[] {
  if (reuse === undefined || reuse.persistSeconds <= 0) return []
  if (path.basename(sshCommand[0] ?? '') !== 'ssh' || setsControl(sshCommand.slice(1))) return []
  const key = createHash('sha256').update(JSON.stringify([...sshCommand, ...destination])).digest('hex').slice(0, 20)
  const socket = path.join(reuse.dir, key)
  if (socket.length > MAX_SOCKET_PATH || !privateDirectory(reuse.dir, reuse.uid)) return []
  return ['-o', 'ControlMaster=auto', '-o', `ControlPath=${socket}`, '-o', `ControlPersist=${reuse.persistSeconds}`]
}

/** Options that already decide multiplexing: -M, -S PATH, or -o Control... */
function setsControl(options: readonly string[]): boolean {
  return options.some((word, i) => {
    if (/^-o\s*control/i.test(word)) return true
    if (options[i - 1] === '-o' && /^\s*control/i.test(word)) return true
    return /^-[^-o]*[MS]/.test(word)
  })
}

function privateDirectory(dir: string, uid: number): boolean {
  try {
    fs.mkdirSync(dir, {mode: 0o700})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false
  }
  try {
    const stats = fs.lstatSync(dir)
    return stats.isDirectory() && stats.uid === uid && (stats.mode & 0o077) === 0
  } catch {
    return false
  }
}
