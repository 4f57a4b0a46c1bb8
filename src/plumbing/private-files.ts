// Instance files are private: directories 0700, files 0600, whatever the umask.
// Files are replaced atomically (write, fsync, rename, fsync the directory).
import fs from 'node:fs'
import path from 'node:path'

export const DIR_MODE = 0o700
export const FILE_MODE = 0o600

export function mkdirPrivate(dir: string): void {
  fs.mkdirSync(dir, {recursive: true, mode: DIR_MODE})
  fs.chmodSync(dir, DIR_MODE)
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r')
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/** Replaces `file` with `data` so a crash leaves the old content or the new, never a mix. */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`
  const fd = fs.openSync(tmp, 'w', FILE_MODE)
  try {
    fs.fchmodSync(fd, FILE_MODE)
    fs.writeFileSync(fd, data)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
  fs.renameSync(tmp, file)
  fsyncDir(path.dirname(file))
}
