// The device-details value (24 bytes, format §4.3), keyed by thin device id.
import type {ValueType} from '../pdata/btree-types.js'
import {readU64, writeU64} from '../pdata/u64.js'

export interface DeviceDetails {
  /** Number of mappings in the device's tree; thin_check 1.x insists it is exact. */
  mappedBlocks: number
  /** Pool transaction id when the device was created. */
  transactionId: number
  /** Pool time when the device was created. */
  creationTime: number
  /** Pool time of the last snapshot taken of, or as, this device. */
  snapshottedTime: number
}

export const deviceDetailsType: ValueType<DeviceDetails> = {
  size: 24,
  read: (buf, offset) => ({
    mappedBlocks: readU64(buf, offset),
    transactionId: readU64(buf, offset + 8),
    creationTime: buf.readUInt32LE(offset + 16),
    snapshottedTime: buf.readUInt32LE(offset + 20),
  }),
  write(buf, offset, d) {
    writeU64(buf, offset, d.mappedBlocks)
    writeU64(buf, offset + 8, d.transactionId)
    buf.writeUInt32LE(d.creationTime, offset + 16)
    buf.writeUInt32LE(d.snapshottedTime, offset + 20)
  },
}
