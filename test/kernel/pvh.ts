// Booting the kernel's uncompressed vmlinux through its PVH entry point rather than the
// bzImage: under TCG the bzImage's self-decompression takes about 4 s, half of a boot.
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {cachedFile, fingerprint, hashOf} from './cache.js'
import {isElf64, notes} from './elf.js'
import type {Kernel} from './kernel.js'

/** Where qemu finds the 32-bit PVH entry point (Xen's ELF note type 18, PHYS32_ENTRY). */
const XEN_ELFNOTE_PHYS32_ENTRY = 18

// The payload is one of these streams somewhere inside the bzImage, followed by other data.
const DECOMPRESSORS = [
  {magic: Buffer.from('fd377a585a00', 'hex'), command: 'xz', args: ['-dc', '--single-stream']},
  {magic: Buffer.from('28b52ffd', 'hex'), command: 'zstd', args: ['-dc']},
  {magic: Buffer.from('1f8b08', 'hex'), command: 'gzip', args: ['-dc']},
]

const isPvhVmlinux = (elf: Buffer): boolean =>
  isElf64(elf) && notes(elf).some((n) => n.name === 'Xen' && n.type === XEN_ELFNOTE_PHYS32_ENTRY)

function extractVmlinux(bzImage: Buffer): Buffer | undefined {
  for (const {magic, command, args} of DECOMPRESSORS) {
    for (let at = bzImage.indexOf(magic); at !== -1; at = bzImage.indexOf(magic, at + 1)) {
      // The exit status is ignored: the tools complain about the data after the stream.
      const out = spawnSync(command, args, {input: bzImage.subarray(at), maxBuffer: 1 << 30}).stdout
      if (out && isPvhVmlinux(out)) return out
    }
  }
  return undefined
}

/** The image to pass to qemu -kernel: a cached PVH vmlinux if it can be extracted, else the bzImage. */
export function bootImage(kernel: Kernel): string {
  const name = `vmlinux-${kernel.version}-${hashOf(fingerprint(kernel.vmlinuz))}`
  return cachedFile(name, () => extractVmlinux(readFileSync(kernel.vmlinuz))) ?? kernel.vmlinuz
}
