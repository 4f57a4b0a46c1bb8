// What fvm serve's stdin or stdout is: sshd hands it pipes, a local client sockets, and
// a terminal or a file is something else. Looked at once, by whoever serves.
import fs from 'node:fs'

export type StdioKind = 'pipe' | 'socket' | 'other'

export function stdioKind(fd: number): StdioKind {
  try {
    const stats = fs.fstatSync(fd)
    return stats.isFIFO() ? 'pipe' : stats.isSocket() ? 'socket' : 'other'
  } catch {
    return 'other'
  }
}
