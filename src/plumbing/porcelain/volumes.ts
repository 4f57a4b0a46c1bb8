// Volumes for the porcelain: create (empty, a copy of a reference, or from an image
// file), list with block usage, info, inspect, remove. Names and references are checked
// before the instance is opened, so bad input fails the same way whether or not the home
// exists.
import fs from 'node:fs'
import path from 'node:path'
import type {DeviceDetails} from '../../dm/thin/device-details.js'
import {SECTOR_SIZE} from '../../dm/thin/pool-layout.js'
import {FvmError, isFvmError} from '../../errors.js'
import type {CatalogState, Snapshot, Volume} from '../catalog/model.js'
import {listVolumes, resolveDevice, volumeInfo as catalogVolumeInfo, type VolumeInfo, type VolumeSummary} from '../catalog/ops-lookups.js'
import {volumeNamed} from '../catalog/ops-shared.js'
import {type CreateVolumeResult, type RemoveVolumeResult, createVolume, removeVolume} from '../catalog/ops-volumes.js'
import {type InstanceContext, type OpenInstance, withInstance} from '../instance-open.js'
import {checkName} from '../names.js'
import {commitOperation, mutate} from '../transaction.js'
import {checkRef} from './entry.js'
import {type ImageInput, type ImportImageResult, type TransferProgress, closeImage, importInto, openImage} from './transfer.js'
import {type BlockUsage, blockUsage} from './usage.js'

export interface VolumeCreateOptions extends InstanceContext {
  name: string
  /** Bytes; when copying, defaults to the source volume's size, from an image to the image's. */
  size?: number
  /** A branch, remote branch or tag to copy (any volume's), or an image file to import: see fromImage. */
  from?: string
  /** Told the bytes of the image imported so far. */
  progress?: TransferProgress
}

export interface VolumeCreateResult extends CreateVolumeResult {
  /** When --from named an image: its absolute path and what importing it wrote into the trunk. */
  image?: {file: string} & Omit<ImportImageResult, 'branch' | 'device'>
}

const SOURCE_KINDS = ['branch', 'remote-branch', 'tag'] as const

export function volumeCreate(o: VolumeCreateOptions): VolumeCreateResult {
  const name = checkName('volume', o.name)
  if (o.size !== undefined && !(Number.isSafeInteger(o.size) && o.size > 0)) {
    throw new FvmError('usage', `invalid size ${o.size}: a volume needs at least 1 byte`)
  }
  const from = o.from === undefined ? undefined : fromSyntax(o.from)
  if (o.size === undefined && from === undefined) {
    throw new FvmError('usage', `volume "${name}" needs a size`, {hint: 'pass --size SIZE, e.g. --size 10G'})
  }
  return withInstance(o, (instance) => {
    const image = from && imageIn(from, instance.catalog.committed().value)
    if (image === undefined) return commitOperation(instance, (state, context) => createVolume(state, {name, size: o.size, from: o.from}, context), o)
    const input = openImage(image)
    try {
      return createFromImage(instance, o, name, input)
    } finally {
      closeImage(input)
    }
  })
}

/** The image file `from` names (see imageIn) and its size (undefined: not a file); undefined for a reference. */
export function fromImage(o: InstanceContext & {from: string}): {file: string; size: number | undefined} | undefined {
  const from = fromSyntax(o.from)
  const image = withInstance(o, ({catalog}) => imageIn(from, catalog.committed().value))
  if (image === undefined) return undefined
  const input = openImage(image)
  closeImage(input)
  return {file: image, size: input.size}
}

/** What `--from` is by its spelling alone: a path (also any non-reference naming an existing file) or a reference's syntax. */
interface FromSyntax {
  kind: 'path' | 'ref'
  text: string
}

function fromSyntax(text: string): FromSyntax {
  if (/^\.{0,2}\//.test(text)) return {kind: 'path', text}
  try {
    checkRef(text, SOURCE_KINDS)
  } catch (error) {
    if (!isFvmError(error)) throw error
    if (isImageFile(text)) return {kind: 'path', text}
    throw new FvmError(error.kind, error.message, {
      hint: `no file "${text}" either: --from takes TAG@VOLUME, VOLUME/BRANCH, HOST/VOLUME/BRANCH or an image file`,
    })
  }
  return {kind: 'ref', text}
}

/**
 * The image file `from` names, or undefined for a reference. The rule: a value starting
 * with "/", "./" or "../" is a path; so is one that is not a reference's syntax and names
 * an existing file; a reference's syntax is a file only when the catalog lacks the
 * reference and such a file exists. "./NAME" picks the file over a reference NAME.
 */
function imageIn(from: FromSyntax, state: CatalogState): string | undefined {
  if (from.kind === 'path') return from.text
  try {
    resolveDevice(state, from.text)
    return undefined
  } catch (error) {
    if (isFvmError(error) && error.kind === 'notFound' && isImageFile(from.text)) return from.text
    throw error
  }
}

/** A regular file or block device: what an image may be. */
function isImageFile(file: string): boolean {
  try {
    const stat = fs.statSync(file)
    return stat.isFile() || stat.isBlockDevice()
  } catch {
    return false
  }
}

/**
 * Checks the image first (a size, fitting --size), then creates the volume and imports
 * into its trunk. If the import fails, the volume is removed again: nothing is left.
 */
function createFromImage(instance: OpenInstance, o: VolumeCreateOptions, name: string, input: ImageInput): VolumeCreateResult {
  if (input.size === undefined) {
    throw new FvmError('usage', `image "${input.file}" is not a regular file or block device`, {
      hint: `to fill a volume from a pipe: fvm volume create ${name} --size SIZE, then fvm volume import ${name}/trunk -`,
    })
  }
  // The kernel sizes a thin device in 512-byte sectors: the default rounds up to one.
  const size = o.size ?? Math.ceil(input.size / SECTOR_SIZE) * SECTOR_SIZE
  if (size === 0) throw new FvmError('usage', `image "${input.file}" is empty`, {hint: 'pass --size for an empty volume'})
  if (size < input.size) {
    throw new FvmError('usage', `size ${size} is smaller than image "${input.file}" (${input.size} bytes)`, {
      hint: 'a volume may be larger than its image, never smaller: leave out --size to fit the image',
    })
  }
  const file = path.resolve(input.file)
  const created = commitOperation(instance, (state, context) => createVolume(state, {name, size, image: file}, context), o)
  try {
    const {branch: _, device: __, ...imported} = importInto(instance.pool, {ref: created.branch, device: created.device, size}, input, 0, o.progress)
    return {...created, image: {file, ...imported}}
  } catch (error) {
    try {
      commitOperation(instance, (state) => removeVolume(state, {name}), o)
    } catch (removal) {
      throw new FvmError(isFvmError(error) ? error.kind : 'failure', (error as Error).message, {
        cause: removal,
        hint: `volume "${name}" is left behind, empty: remove it with "fvm volume rm ${name} --yes"`,
      })
    }
    throw error
  }
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
