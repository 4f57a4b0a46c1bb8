// A writer for the "newc" cpio format the kernel unpacks as an initramfs. Writing it
// here rather than with cpio(1) lets the archive hold /dev/console without mknod on the
// host, and makes it byte-for-byte reproducible (no inode numbers or mtimes).

export interface CpioEntry {
  /** Path inside the archive, without a leading slash. */
  name: string
  /** Full st_mode: file type bits and permissions. */
  mode: number
  data?: Buffer
  /** Device number, for character and block devices. */
  rdev?: {major: number; minor: number}
}

const S_IFMT = 0o170000
export const S_IFDIR = 0o040000
export const S_IFREG = 0o100000
export const S_IFCHR = 0o020000

const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4)

function record(ino: number, entry: CpioEntry): Buffer[] {
  const data = entry.data ?? Buffer.alloc(0)
  const name = Buffer.from(`${entry.name}\0`)
  const fields = [
    ino, entry.mode, 0, 0, (entry.mode & S_IFMT) === S_IFDIR ? 2 : 1, 0, data.length,
    0, 0, entry.rdev?.major ?? 0, entry.rdev?.minor ?? 0, name.length, 0,
  ]
  const header = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`)
  return [header, name, pad4(header.length + name.length), data, pad4(data.length)]
}

/** The archive of the entries, in order, ending with the TRAILER!!! record. */
export function newcArchive(entries: CpioEntry[]): Buffer {
  const parts = entries.flatMap((e, i) => record(i + 1, e))
  parts.push(...record(0, {name: 'TRAILER!!!', mode: 0}))
  return Buffer.concat(parts)
}
