// Restores a pool from thin_dump XML, like thin_restore: a new pool directory whose
// metadata holds exactly the devices and mappings of the XML (no device 0 is added)
// and whose data file is sparse. The push parser is driven from inside the engine's
// bulk loader (pulling chunks as mappings are needed), so memory stays bounded.
import {FvmError} from '../../errors.js'
import type {Failpoint} from '../pdata/failpoints.js'
import {type FileSystem, nodeFileSystem} from '../pdata/file-io.js'
import {poolPaths, SECTOR_SIZE} from './pool-layout.js'
import {type Mapping, ThinPool} from './thin-pool.js'
import type {DeviceIr, MappingRun, MetadataVisitor, SuperblockIr} from './xml-ir.js'
import {MetadataXmlParser} from './xml-parse.js'

type XmlEvent =
  | {kind: 'superblock', sb: SuperblockIr}
  | {kind: 'device', dev: DeviceIr}
  | {kind: 'mapping', run: MappingRun}
  | {kind: 'deviceEnd'}
  | {kind: 'end'}

/** Turns the push parser into a pull reader: events come out one at a time, chunks go in as needed. */
class XmlEventReader {
  private readonly queue: XmlEvent[] = []
  private head = 0
  private readonly parser: MetadataXmlParser
  private readonly chunks: Iterator<Uint8Array>
  private ended = false

  constructor(chunks: Iterable<Uint8Array>) {
    const q = this.queue
    const visitor: MetadataVisitor = {
      superblockBegin: (sb) => q.push({kind: 'superblock', sb}),
      deviceBegin: (dev) => q.push({kind: 'device', dev}),
      mapping: (run) => q.push({kind: 'mapping', run: {...run}}),
      deviceEnd: () => q.push({kind: 'deviceEnd'}),
      superblockEnd: () => q.push({kind: 'end'}),
    }
    this.parser = new MetadataXmlParser(visitor)
    this.chunks = chunks[Symbol.iterator]()
  }

  next(): XmlEvent {
    while (this.head === this.queue.length) {
      this.queue.length = 0
      this.head = 0
      if (this.ended) throw new FvmError('corrupt', 'xml ended before </superblock>')
      const chunk = this.chunks.next()
      if (chunk.done) {
        this.ended = true
        this.parser.end()
      } else {
        this.parser.write(chunk.value)
      }
    }
    return this.queue[this.head++]
  }
}

export interface RestoreOptions {
  fs?: FileSystem
  failpoint?: Failpoint
}

export interface RestoreSummary {
  devices: number
  mappings: number
}

function* deviceMappings(reader: XmlEventReader, counter: {mappings: number}): Generator<Mapping> {
  for (;;) {
    const event = reader.next()
    if (event.kind === 'deviceEnd') return
    if (event.kind !== 'mapping') throw new FvmError('corrupt', `xml: unexpected ${event.kind} inside a device`)
    const {originBegin, dataBegin, length, time} = event.run
    for (let i = 0; i < length; i++) yield {vblock: originBegin + i, dataBlock: dataBegin + i, time}
    counter.mappings += length
  }
}

/**
 * Formats a new pool in `dir` from the XML's superblock and bulk-loads its devices in
 * one transaction. Until that commits the pool on disk is the empty one; on failure
 * both files are removed again.
 */
export function restorePoolFromXml(dir: string, chunks: Iterable<Uint8Array>, options: RestoreOptions = {}): RestoreSummary {
  const fs = options.fs ?? nodeFileSystem
  const reader = new XmlEventReader(chunks)
  const first = reader.next()
  if (first.kind !== 'superblock') throw new FvmError('corrupt', 'xml: no <superblock>')
  const sb = first.sb
  const pool = ThinPool.format(dir, {
    dataBlocks: sb.nrDataBlocks,
    dataBlockSize: sb.dataBlockSize * SECTOR_SIZE,
    clock: {time: sb.time, transactionId: sb.transaction},
    reserveDevice0: false,
    fs,
    failpoint: options.failpoint,
  })
  const counter = {mappings: 0}
  let devices = 0
  try {
    for (let event = reader.next(); event.kind !== 'end'; event = reader.next()) {
      if (event.kind !== 'device') throw new FvmError('corrupt', `xml: unexpected ${event.kind} outside a device`)
      const {devId, transaction, creationTime, snapTime} = event.dev
      pool.restoreDevice(devId, {transactionId: transaction, creationTime, snapshottedTime: snapTime}, deviceMappings(reader, counter))
      devices++
    }
    pool.commit()
  } catch (error) {
    pool.close()
    const files = poolPaths(dir)
    for (const p of [files.data, files.metadata]) if (fs.exists(p)) fs.unlink(p)
    throw error
  }
  pool.close()
  return {devices, mappings: counter.mappings}
}
