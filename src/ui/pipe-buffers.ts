// sshd hands `fvm serve` the stream through a pipe, and takes its answers through
// another. A pipe holds 64 KiB, so sshd wakes for every 64 KiB it moves, and a
// receiver that stops to update its btrees stalls it at once. 1 MiB pipes cut both:
// measured here, an incremental push took about 10% less time, a full one 9-14% less.
// perl does it (perl.ts); without perl, or on a kernel that refuses, the pipes stay as
// they were, which only costs speed. Perl opens the pipes anew through /proc rather
// than inheriting our descriptors: a child started with them makes them blocking (libuv
// does so for a child's stdio), for us too, and Node's event loop would then wait
// inside read() for sshd's next bytes instead of getting on with finished writes.
import {perlInBackground} from '../plumbing/transport/perl.js'
import type {StdioKind} from './stdio-kind.js'

const F_SETPIPE_SZ = 1031
/** /proc/sys/fs/pipe-max-size's default: any user may ask for it. */
const PIPE_BYTES = 1024 * 1024
/** Our stdin and stdout, and how perl opens each (flags as Fcntl names them): never waiting for the other end. */
const STDIO = [{fd: 0, name: 'stdin', mode: 'O_RDONLY|O_NONBLOCK'}, {fd: 1, name: 'stdout', mode: 'O_WRONLY|O_NONBLOCK'}] as const

/** Enlarges stdin and stdout where KINDS says they are pipes; returns without waiting. */
export function enlargeStdioPipes(kinds: {stdin: StdioKind; stdout: StdioKind}): void {
  if (process.platform !== 'linux') return
  const pipes = STDIO.filter(({name}) => kinds[name] === 'pipe')
  if (pipes.length === 0) return
  const opens = pipes.map(({fd, mode}) => `["/proc/${process.pid}/fd/${fd}", ${mode}]`).join(', ')
  const program = `use Fcntl; for (${opens}) { sysopen(my $pipe, $_->[0], $_->[1]) or next; fcntl($pipe, ${F_SETPIPE_SZ}, ${PIPE_BYTES}) }`
  perlInBackground(program)
}
