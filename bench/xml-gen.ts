// Writes a thin_dump-style XML with many single mappings (scattered data blocks, so
// nothing merges into ranges) for restore and check benchmarks. Streams to disk.
import fs from 'node:fs'

export interface BigXmlOptions {
  file: string
  devices: number
  mappingsPerDevice: number
  dataBlockSize?: number
}

export function writeBigXml(o: BigXmlOptions): {nrDataBlocks: number} {
  const total = o.devices * o.mappingsPerDevice
  const nrDataBlocks = total * 2
  const fd = fs.openSync(o.file, 'w')
  let buf = `<superblock uuid="" time="1" transaction="1" flags="0" version="2" data_block_size="${o.dataBlockSize ?? 128}" nr_data_blocks="${nrDataBlocks}">\n`
  const flush = (force: boolean): void => {
    if (force || buf.length > 1 << 20) {
      fs.writeSync(fd, buf)
      buf = ''
    }
  }
  let next = 0
  for (let dev = 1; dev <= o.devices; dev++) {
    buf += `  <device dev_id="${dev}" mapped_blocks="${o.mappingsPerDevice}" transaction="0" creation_time="0" snap_time="1">\n`
    for (let v = 0; v < o.mappingsPerDevice; v++) {
      // Every other data block, so consecutive virtual blocks never form a range.
      buf += `    <single_mapping origin_block="${v}" data_block="${(next++) * 2}" time="0"/>\n`
      flush(false)
    }
    buf += '  </device>\n'
  }
  buf += '</superblock>\n'
  flush(true)
  fs.closeSync(fd)
  return {nrDataBlocks}
}
