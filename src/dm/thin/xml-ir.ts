// The metadata intermediate representation shared by thin_dump-style XML and the binary
// engine: restore consumes these events, dump produces them. Numbers are exact JS
// integers; anything that does not fit below 2^53 is rejected where it enters.

/** The pool-wide fields of a thin_dump `<superblock>`. */
export interface SuperblockIr {
  /** Never stored on disk by either tool generation; "" in every real dump. */
  uuid: string
  /** The pool clock: bumped by each snapshot, stamped on new mappings. */
  time: number
  transaction: number
  /** Bit 0 is needs_check. 1.x dumps omit the attribute when it is 0. */
  flags: number
  /** The on-disk metadata format version; the kernel and 1.x restore write 2. */
  version: number
  /** In 512-byte sectors. */
  dataBlockSize: number
  nrDataBlocks: number
  /** The held metadata snapshot root, when one is reserved. */
  metadataSnap?: number
}

/** One thin device's details, as in `<device>`. */
export interface DeviceIr {
  devId: number
  mappedBlocks: number
  transaction: number
  creationTime: number
  /** The pool time of the last snapshot taken of (or as) this device. */
  snapTime: number
}

/**
 * `length` consecutive thin blocks from `originBegin` mapped to consecutive data blocks
 * from `dataBegin`, all stamped with the same `time`.
 */
export interface MappingRun {
  originBegin: number
  dataBegin: number
  length: number
  time: number
}

/**
 * The event stream of one metadata image: superblockBegin, then for each device
 * deviceBegin, its mappings in ascending origin order, deviceEnd; then superblockEnd.
 * Dumps list devices in dev_id order. Runs may be split anywhere, so consumers must not
 * rely on maximal runs, and a run passed in is shared: treat it as read-only.
 */
export interface MetadataVisitor {
  superblockBegin(sb: SuperblockIr): void
  deviceBegin(dev: DeviceIr): void
  mapping(run: Readonly<MappingRun>): void
  deviceEnd(): void
  superblockEnd(): void
}

/** The largest thin device id the kernel accepts (`MAX_DEV_ID`). */
export const MAX_DEV_ID = 2 ** 24 - 1

/** Mapping times are packed into 24 bits next to the data block. */
export const MAX_MAPPING_TIME = 2 ** 24 - 1

/** Data block numbers are packed into 40 bits. */
export const MAX_DATA_BLOCKS = 2 ** 40

/** The kernel's data block size limits, in sectors; sizes are multiples of the minimum. */
export const MIN_DATA_BLOCK_SIZE = 128
export const MAX_DATA_BLOCK_SIZE = 2097152
