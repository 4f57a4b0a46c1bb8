// Volumes for the porcelain: create, list with block usage, info, inspect, remove.
// Names and references are checked before the instance is opened, so bad input fails
// the same way whether or not the home exists.
import type {DeviceDetails} from '../../dm/thin/device-details.js'
import {FvmError} from '../../errors.js'
import type {Snapshot, Volume} from '../catalog/model.js'
import {listVolumes, volumeInfo as catalogVolumeInfo, type VolumeInfo, type VolumeSummary} from '../catalog/ops-lookups.js'
import {volumeNamed} from '../catalog/ops-shared.js'
import {type CreateVolumeResult, type RemoveVolumeResult, createVolume, removeVolume} from '../catalog/ops-volumes.js'
import {type InstanceContext, withInstance} from '../instance-open.js'
import {checkName} from '../names.js'
import {mutate} from '../transaction.js'
import {checkRef} from './entry.js'
import {type BlockUsage, blockUsage} from './usage.js'

export interface VolumeCreateOptions extends InstanceContext {
  name: string
  /** Bytes; when copying, defaults to the source volume's size. */
  size?: number
  /** A branch, remote branch or tag to copy (any volume's). */
  from?: string
}

export function volumeCreate(o: VolumeCreateOptions): CreateVolumeResult {
  const name = checkName('volume', o.name)
  if (o.size !== undefined && !(Number.isSafeInteger(o.size) && o.size > 0)) {
    throw new FvmError('usage', `invalid size ${o.size}: a volume needs at least 1 byte`)
  }
  if (o.from !== undefined) checkRef(o.from, ['branch', 'remote-branch', 'tag'])
  if (o.size === undefined && o.from === undefined) {
    throw new FvmError('usage', `volume "${name}" needs a size`, {hint: 'pass --size SIZE, e.g. --size 10G'})
  }
  return mutate(o, (state, context) => createVolume(state, {name, size: o.size, from: o.from}, context))
}

export type VolumeListEntry = VolumeSummary & BlockUsage

/** Every volume, by name, with the data blocks it uses and those only it uses. */
export function volumeList(o: InstanceContext): VolumeListEntry[] {
  return withInstance(o, ({pool, catalog}) => {
    const state = catalog.committed().value
    const usage = blockUsage(pool, state)
    return listVolumes(state).map((v) => ({...v, ...usage.get(v.uuid)!}))
  })
}

export type VolumeInfoResult = VolumeInfo & BlockUsage

export function volumeInfo(o: InstanceContext & {name: string}): VolumeInfoResult {
  const name = checkName('volume', o.name)
  return withInstance(o, ({pool, catalog}) => {
    const state = catalog.committed().value
    const info = catalogVolumeInfo(state, name)
    return {...info, ...blockUsage(pool, state).get(info.uuid)!}
  })
}

export interface InspectedDevice {
  device: number
  /** The branch (name) or snapshot (uuid) holding it; one of the two. */
  branch: string | null
  snapshot: string | null
  /** As the pool has it; null when the pool lacks the device (run "fvm check"). */
  details: DeviceDetails | null
}

export interface VolumeInspection {
  /** The catalog's record, as stored. */
  volume: Volume
  /** Every snapshot record of the volume, oldest first. */
  snapshots: Snapshot[]
  /** Every device the volume holds, by id. */
  devices: InspectedDevice[]
}

export function volumeInspect(o: InstanceContext & {name: string}): VolumeInspection {
  const name = checkName('volume', o.name)
  return withInstance(o, ({pool, catalog}) => {
    const state = catalog.committed().value
    const volume = volumeNamed(state, name)
    const snapshots = Object.values(state.snapshots)
      .filter((s) => s.volume === volume.uuid)
      .sort((a, b) => a.created.localeCompare(b.created) || a.uuid.localeCompare(b.uuid))
    const present = new Set(pool.devices())
    const inspect = (device: number, branch: string | null, snapshot: string | null): InspectedDevice => {
      if (!present.has(device)) return {device, branch, snapshot, details: null}
      const {id: _, ...details} = pool.details(device)
      return {device, branch, snapshot, details}
    }
    const devices = [
      ...Object.values(volume.branches).map((b) => inspect(b.device, b.name, null)),
      ...snapshots.filter((s) => s.device !== null).map((s) => inspect(s.device!, null, s.uuid)),
    ].sort((a, b) => a.device - b.device)
    return {volume, snapshots, devices}
  })
}

export function volumeRemove(o: InstanceContext & {name: string}): RemoveVolumeResult {
  const name = checkName('volume', o.name)
  return mutate(o, (state) => removeVolume(state, {name}))
}
