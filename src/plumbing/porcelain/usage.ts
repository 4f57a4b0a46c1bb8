// How many data blocks each volume uses, and how many of them are its alone.
//
// A volume uses the union of the data blocks its devices map (branches, tags, hidden
// snapshots). A block is exclusive to the volume when no device outside it maps the
// block: removing the volume frees exactly its exclusive blocks. Reference counts cannot
// answer this (snapshots share mapping subtrees, so a block shared by many devices may
// count 1), so the rule is computed from the mappings. Each volume's union is one
// device's mappings plus, for every other device of the volume, what its delta against
// that device adds; deltas skip the subtrees the devices share, so the cost follows the
// first device's size plus what differs, not the number of snapshots. Devices outside
// the catalog (device 0, orphans) count as one more owner.
import type {ThinPool} from '../../dm/thin/thin-pool.js'
import {type CatalogState, deviceHolders} from '../catalog/model.js'

export interface BlockUsage {
  /** Distinct data blocks the volume's devices map. */
  usedBlocks: number
  /** Of those, the blocks no device outside the volume maps: what removing it frees. */
  exclusiveBlocks: number
  usedBytes: number
  exclusiveBytes: number
}

/** The data blocks some device of `devices` maps. */
function unionOf(pool: ThinPool, devices: number[]): Set<number> {
  const blocks = new Set<number>()
  const [first, ...others] = devices
  if (first === undefined) return blocks
  for (const m of pool.mappings(first)) blocks.add(m.dataBlock)
  for (const id of others) {
    for (const d of pool.delta(first, id)) if (d.right) blocks.add(d.right.dataBlock)
  }
  return blocks
}

/** Usage of every volume, by uuid. */
export function blockUsage(pool: ThinPool, state: CatalogState): Map<string, BlockUsage> {
  const devicesOf = new Map<string, number[]>(Object.keys(state.volumes).map((uuid) => [uuid, []]))
  for (const volume of Object.values(state.volumes)) {
    for (const branch of Object.values(volume.branches)) devicesOf.get(volume.uuid)!.push(branch.device)
  }
  for (const snapshot of Object.values(state.snapshots)) {
    if (snapshot.device !== null) devicesOf.get(snapshot.volume)!.push(snapshot.device)
  }
  const held = deviceHolders(state)
  const outside = pool.devices().filter((id) => !held.has(id))

  const unions = new Map([...devicesOf].map(([uuid, devices]) => [uuid, unionOf(pool, devices)]))
  const owners = new Map<number, number>()
  for (const blocks of [...unions.values(), unionOf(pool, outside)]) {
    for (const b of blocks) owners.set(b, (owners.get(b) ?? 0) + 1)
  }
  const blockSize = pool.dataBlockSize
  return new Map(
    [...unions].map(([uuid, blocks]) => {
      let exclusive = 0
      for (const b of blocks) if (owners.get(b) === 1) exclusive++
      const usage = {usedBlocks: blocks.size, exclusiveBlocks: exclusive, usedBytes: blocks.size * blockSize, exclusiveBytes: exclusive * blockSize}
      return [uuid, usage]
    }),
  )
}
