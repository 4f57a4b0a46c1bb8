// CRC-32C (Castagnoli), slicing-by-8, and the block checksums of the dm-thin format:
// stored = crc32c register seeded with ~0, no final inversion, over bytes 4..end,
// XOR a per-block-type salt (kernel dm_bm_checksum).

const POLY = 0x82f63b78

const TABLES = (() => {
  const t = new Uint32Array(8 * 256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1
    t[n] = c >>> 0
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]
    for (let s = 1; s < 8; s++) {
      c = t[c & 0xff] ^ (c >>> 8)
      t[s * 256 + n] = c >>> 0
    }
  }
  return t
})()

/** The raw CRC register after feeding buf[start..end) into it, starting from seed. */
export function crc32cUpdate(seed: number, buf: Uint8Array, start = 0, end = buf.length): number {
  const t = TABLES
  let crc = seed >>> 0
  let i = start
  for (; i + 8 <= end; i += 8) {
    const a = (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24)) ^ crc
    const b = buf[i + 4] | (buf[i + 5] << 8) | (buf[i + 6] << 16) | (buf[i + 7] << 24)
    crc =
      t[1792 + (a & 0xff)] ^
      t[1536 + ((a >>> 8) & 0xff)] ^
      t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^
      t[768 + (b & 0xff)] ^
      t[512 + ((b >>> 8) & 0xff)] ^
      t[256 + ((b >>> 16) & 0xff)] ^
      t[b >>> 24]
  }
  for (; i < end; i++) crc = t[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8)
  return crc >>> 0
}

/** Standard CRC-32C, as crc32c libraries return it ("123456789" gives 0xE3069283). */
export function crc32c(buf: Uint8Array): number {
  return ~crc32cUpdate(0xffffffff, buf) >>> 0
}

/** Per-block-type salts (format §1). */
export const SALT = {
  superblock: 160774,
  btreeNode: 121107,
  bitmap: 240779,
  metadataIndex: 160478,
} as const

/** The checksum a block of this type must store in its first 4 bytes. */
export function blockChecksum(block: Uint8Array, salt: number): number {
  return (crc32cUpdate(0xffffffff, block, 4, block.length) ^ salt) >>> 0
}

/** Computes and stores the block's checksum. */
export function sealBlock(block: Buffer, salt: number): void {
  block.writeUInt32LE(blockChecksum(block, salt), 0)
}

export function hasValidChecksum(block: Buffer, salt: number): boolean {
  return block.readUInt32LE(0) === blockChecksum(block, salt)
}
