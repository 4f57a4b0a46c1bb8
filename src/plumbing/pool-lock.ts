// One process at a time per pool, as git does with index.lock: an O_EXCL lock file
// beside the pool's two files, holding the owner's pid, removed on release. A lock
// left by a process that died (SIGKILL, power loss) is taken over.
import path from 'node:path'
import {type FileSystem, nodeFileSystem} from '../dm/pdata/file-io.js'
import {FvmError} from '../errors.js'

export const LOCK_FILE = 'lock'

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readOwner(fs: FileSystem, file: string): number | undefined {
  try {
    const f = fs.open(file, 'r')
    try {
      const buf = Buffer.alloc(32)
      const pid = Number(buf.subarray(0, f.pread(buf, 0)).toString('utf8').trim())
      return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
    } finally {
      f.close()
    }
  } catch {
    return undefined
  }
}

function tryCreate(fs: FileSystem, file: string): boolean {
  try {
    const f = fs.open(file, 'wx')
    try {
      f.pwrite(Buffer.from(`${process.pid}\n`), 0)
    } finally {
      f.close()
    }
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4))

/**
 * The lock's owner. Its creator writes the pid right after creating the file, so an
 * empty lock is read again for a while before it counts as a dead creator's.
 */
function settledOwner(fs: FileSystem, file: string): number | undefined {
  for (let tries = 0; tries < OWNER_READS; tries++) {
    const owner = readOwner(fs, file)
    if (owner !== undefined || !fs.exists(file)) return owner
    Atomics.wait(pause, 0, 0, OWNER_READ_PAUSE_MS)
  }
  return undefined
}

const OWNER_READS = 40
const OWNER_READ_PAUSE_MS = 5

/** Takes the pool's lock or fails with the conflict code; returns the release function. */
export function lockPool(dir: string, fs: FileSystem = nodeFileSystem): () => void {
  const file = path.join(dir, LOCK_FILE)
  if (!tryCreate(fs, file)) {
    const owner = settledOwner(fs, file)
    // A lock still without an owner is as stale as a dead owner's: its creator died
    // between create and write.
    if (owner !== undefined && isAlive(owner)) {
      throw new FvmError('conflict', `pool "${dir}" is busy: process ${owner} holds its lock`, {
        hint: `wait for it to finish; if no fvm process ${owner} exists, remove "${file}"`,
      })
    }
    // Two processes breaking the same dead lock at once could both get in; that needs a
    // crash and a race within microseconds, and the catalog's own compare-and-swap still
    // refuses the second writer's commit.
    try {
      fs.unlink(file)
    } catch (error) {
      // Released meanwhile: free to take.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    if (!tryCreate(fs, file)) throw new FvmError('conflict', `pool "${dir}" is busy: another process took its lock`)
  }
  return () => {
    if (fs.exists(file)) fs.unlink(file)
  }
}
