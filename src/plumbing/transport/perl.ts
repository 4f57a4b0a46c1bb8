// Node cannot call fcntl or setsockopt, so a perl one-liner does it for us (perl is
// part of every Debian-based system). Started and not waited for: what it does only
// makes I/O faster, so without perl, or when it fails, nothing is lost but speed.
import {spawn} from 'node:child_process'

/** Runs PROGRAM (perl -e) in the background, our descriptor FD as its fd 3 if given. */
export function perlInBackground(program: string, fd?: number): void {
  const child = spawn('perl', ['-e', program], {stdio: fd === undefined ? 'ignore' : ['ignore', 'ignore', 'ignore', fd]})
  child.on('error', () => {})
  child.unref()
}
