// Little-endian 64-bit fields as JS numbers, via two 32-bit halves: exact up to 2^53,
// no BigInt in hot paths. Values beyond that are rejected as corrupt.
import {FvmError} from '../../errors.js'

const TWO_POW_32 = 4294967296
const MAX_HIGH = 0x200000 // 2^53 / 2^32

export function readU64(buf: Buffer, offset: number): number {
  const high = buf.readUInt32LE(offset + 4)
  if (high >= MAX_HIGH) throw new FvmError('corrupt', `metadata field at byte ${offset} exceeds 2^53`)
  return high * TWO_POW_32 + buf.readUInt32LE(offset)
}

export function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value % TWO_POW_32, offset)
  buf.writeUInt32LE(Math.floor(value / TWO_POW_32), offset + 4)
}
