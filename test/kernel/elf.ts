// Just enough of ELF64 (little-endian) to read program headers: whether busybox is static,
// whether a vmlinux has a PVH entry point.

export interface ProgramHeader {
  type: number
  offset: number
  fileSize: number
}

const PT_NOTE = 4
export const PT_INTERP = 3

export function isElf64(data: Buffer): boolean {
  return data.length >= 64 && data.readUInt32BE(0) === 0x7f_45_4c_46 && data[4] === 2 && data[5] === 1
}

export function programHeaders(elf: Buffer): ProgramHeader[] {
  const phoff = Number(elf.readBigUInt64LE(0x20))
  const entrySize = elf.readUInt16LE(0x36)
  return Array.from({length: elf.readUInt16LE(0x38)}, (_, i) => {
    const at = phoff + i * entrySize
    return {type: elf.readUInt32LE(at), offset: Number(elf.readBigUInt64LE(at + 8)), fileSize: Number(elf.readBigUInt64LE(at + 32))}
  })
}

/** The notes of the PT_NOTE segments, as owner name (without NUL) and type. */
export function notes(elf: Buffer): Array<{name: string; type: number}> {
  const align4 = (n: number): number => (n + 3) & ~3
  const found: Array<{name: string; type: number}> = []
  for (const ph of programHeaders(elf).filter((p) => p.type === PT_NOTE)) {
    for (let at = ph.offset; at + 12 <= ph.offset + ph.fileSize; ) {
      const nameSize = elf.readUInt32LE(at)
      const descSize = elf.readUInt32LE(at + 4)
      found.push({name: elf.toString('latin1', at + 12, at + 12 + nameSize).replace(/\0$/, ''), type: elf.readUInt32LE(at + 8)})
      at += 12 + align4(nameSize) + align4(descSize)
    }
  }
  return found
}
