// The mapping value (format §4.2): (data_block << 24) | time, packed and unpacked
// with two 32-bit halves so it stays exact without BigInt. data_block has 40 bits.
import type {ValueType} from '../pdata/btree-types.js'

export interface BlockTime {
  dataBlock: number
  /** Pool time when the block was mapped; 24 bits. */
  time: number
}

export const MAX_DATA_BLOCKS = 2 ** 40
export const MAX_TIME = 2 ** 24 - 1

export const blockTimeType: ValueType<BlockTime> = {
  size: 8,
  read(buf, offset) {
    const low = buf.readUInt32LE(offset)
    return {dataBlock: buf.readUInt32LE(offset + 4) * 256 + (low >>> 24), time: low & 0xffffff}
  },
  write(buf, offset, v) {
    buf.writeUInt32LE(((v.dataBlock % 256) * 0x1000000 + v.time) >>> 0, offset)
    buf.writeUInt32LE(Math.floor(v.dataBlock / 256), offset + 4)
  },
}
