// The stream a push sends goes into a Unix socket to ssh (Node gives a child a socket
// pair for its stdin), which holds 208 KiB by default: the sending fvm fills it in a
// moment, then sleeps until ssh has read a little, thousands of times a second. Asking
// for 4 MiB cut a full push of 4 GiB from 9.7 s to 8.9 s here. perl sets it (perl.ts)
// on the descriptor handed to it as its fd 3: libuv makes a child's fds 0-2 blocking,
// which would change them for us too, and leaves fd 3 as it is. Root may take any size
// (SO_SNDBUFFORCE); anyone else gets up to net.core.wmem_max. Where the kernel refuses,
// the socket stays as it was: only slower.
import type {Writable} from 'node:stream'
import {perlInBackground} from './perl.js'

export const SEND_BUFFER_BYTES = 4 * 1024 * 1024

/** SO_SNDBUFFORCE where asm-generic/socket.h numbers the options (the 64-bit PC and ARM). */
const SO_SNDBUFFORCE = process.arch === 'x64' || process.arch === 'arm64' ? 32 : undefined

/** Asks for SEND_BUFFER_BYTES of send buffer on the socket under OUTPUT, if it is one; returns without waiting. */
export function enlargeSendBuffer(output: Writable): void {
  if (process.platform !== 'linux') return
  const fd = (output as {_handle?: {fd?: unknown}})._handle?.fd
  if (typeof fd !== 'number' || fd < 0) return
  const force = SO_SNDBUFFORCE === undefined ? '' : `setsockopt($s, SOL_SOCKET, ${SO_SNDBUFFORCE}, $size) or `
  const program = `use Socket; open(my $s, "+<&=", 3) or exit; my $size = pack("i", ${SEND_BUFFER_BYTES}); ${force}setsockopt($s, SOL_SOCKET, SO_SNDBUF, $size)`
  perlInBackground(program, fd)
}
