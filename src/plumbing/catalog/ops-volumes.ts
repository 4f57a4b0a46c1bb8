// Volumes: create (empty, from an image, or as a copy of a branch or tag), remove, and
// the quota on their total virtual size.
import {FvmError} from '../../errors.js'
import {checkName, printable} from '../names.js'
import {type CatalogState, TRUNK, type Volume, type VolumeSource, deleteEntry, setEntry} from './model.js'
import {
  type DmOp,
  type Mutation,
  type OpContext,
  type Source,
  checkQuota,
  checkSize,
  SECTOR,
  draftOf,
  findSource,
  freshUuid,
  parseIn,
  sourceDevice,
  takeDeviceIds,
  usedBytes,
  volumeNamed,
} from './ops-shared.js'

export interface CreateVolumeRequest {
  name: string
  /** Virtual size in bytes; when copying, defaults to the source volume's size and may not be smaller. */
  size?: number
  /** A branch, remote branch or tag (of any volume) whose content the new volume starts with. */
  from?: string
  /** An image the executor writes into the new device; recorded as the volume's source. */
  image?: string
}

export interface CreateVolumeResult {
  volume: string
  name: string
  size: number
  /** The new volume's only branch, `NAME/trunk`. */
  branch: string
  device: number
}

/** Longest image description kept; it is a label (a path or URL), not data. */
const MAX_IMAGE_LENGTH = 4096

/** What a new volume can be a copy of. */
const SOURCE_KINDS = ['branch', 'remote-branch', 'tag'] as const

export function createVolume(state: CatalogState, request: CreateVolumeRequest, context: OpContext): Mutation<CreateVolumeResult> {
  const name = checkName('volume', request.name)
  if (Object.values(state.volumes).some((v) => v.name === name)) {
    throw new FvmError('conflict', `volume "${name}" already exists`)
  }
  if (request.from !== undefined && request.image !== undefined) {
    throw new FvmError('usage', `volume "${name}" can start from a reference or from an image, not both`)
  }
  const draft = draftOf(state)
  const source = request.from === undefined ? undefined : findSource(draft, parseIn(draft, request.from, SOURCE_KINDS))
  const size = sizeFor(name, request.size, source)
  const provenance = volumeSource(source, request.image)
  checkQuota(draft, name, size)

  const [device] = takeDeviceIds(draft, 1)
  const volume: Volume = {
    uuid: freshUuid(draft, context),
    name,
    size,
    created: context.now,
    source: provenance,
    branches: {},
    tags: {},
    remoteBranches: {},
    remoteReflogs: {},
  }
  setEntry(volume.branches, TRUNK, {
    name: TRUNK,
    device,
    base: null,
    created: context.now,
    reflog: [{action: 'create', time: context.now, to: null, displaced: null}],
    pushed: {},
  })
  setEntry(draft.volumes, volume.uuid, volume)

  const plan: DmOp[] = [source ? {op: 'create_snap', id: device, origin: sourceDevice(source)} : {op: 'create_thin', id: device}]
  return {state: draft, plan, result: {volume: volume.uuid, name, size, branch: `${name}/${TRUNK}`, device}}
}

function sizeFor(name: string, size: number | undefined, source: Source | undefined): number {
  if (size === undefined) {
    if (!source) throw new FvmError('usage', `volume "${name}" needs a size`)
    return source.volume.size
  }
  checkSize(size)
  if (size % SECTOR !== 0) {
    throw new FvmError('usage', `invalid size ${size}: a volume is a block device, its size a multiple of ${SECTOR} bytes`, {
      hint: `e.g. ${Math.ceil(size / SECTOR) * SECTOR}`,
    })
  }
  if (source && size < source.volume.size) {
    throw new FvmError('usage', `size ${size} is smaller than "${source.ref}" (${source.volume.size} bytes)`, {
      hint: 'a copy may grow, never shrink: shrinking would cut off data',
    })
  }
  return size
}

function volumeSource(source: Source | undefined, image: string | undefined): VolumeSource {
  if (source) {
    const descendsFrom = source.kind === 'branch' ? source.branch.base : source.snapshot.uuid
    return {kind: 'copy', ref: source.ref, volume: source.volume.uuid, descendsFrom}
  }
  return image === undefined ? {kind: 'empty'} : {kind: 'image', image: checkImage(image)}
}

function checkImage(image: string): string {
  // eslint-disable-next-line no-control-regex
  if (image.length === 0 || image.length > MAX_IMAGE_LENGTH || /[\u0000-\u001F\u007F]/.test(image)) {
    const rule = `must be 1 to ${MAX_IMAGE_LENGTH} characters, none of them control characters`
    throw new FvmError('usage', `invalid image "${printable(image)}": ${rule}`)
  }
  return image
}

export interface RemoveVolumeResult {
  volume: string
  name: string
  /** Every device the volume held: branches, tags and hidden snapshots. */
  deleted: number[]
}

/** Removes the volume and every device it holds, staged receives included. Copies made from it keep their data. */
export function removeVolume(state: CatalogState, request: {name: string}): Mutation<RemoveVolumeResult> {
  const draft = draftOf(state)
  const volume = volumeNamed(draft, checkName('volume', request.name))
  const devices = Object.values(volume.branches).map((b) => b.device)
  for (const snapshot of Object.values(draft.snapshots)) {
    if (snapshot.volume !== volume.uuid) continue
    if (snapshot.device !== null) devices.push(snapshot.device)
    deleteEntry(draft.snapshots, snapshot.uuid)
  }
  // A stream into the volume would publish a copy whose lineage is gone: it ends here too.
  for (const staged of Object.values(draft.receiving)) {
    if (staged.volume.uuid !== volume.uuid) continue
    devices.push(staged.device)
    deleteEntry(draft.receiving, staged.snapshot.uuid)
  }
  deleteEntry(draft.volumes, volume.uuid)
  const deleted = devices.sort((a, b) => a - b)
  return {state: draft, plan: deleted.map((id) => ({op: 'delete', id})), result: {volume: volume.uuid, name: volume.name, deleted}}
}

export interface SetQuotaResult {
  quota: number | null
  used: number
}

/** Sets (or with null lifts) the limit on the volumes' total size; never below what they already use. */
export function setQuota(state: CatalogState, request: {quota: number | null}): Mutation<SetQuotaResult> {
  const {quota} = request
  const used = usedBytes(state)
  if (quota !== null) {
    checkSize(quota)
    if (quota < used) {
      throw new FvmError('conflict', `quota ${quota} is below the ${used} bytes volumes already use`, {
        hint: 'remove volumes first, or choose a larger quota',
      })
    }
  }
  const draft = draftOf(state)
  draft.quota = quota
  return {state: draft, plan: [], result: {quota, used}}
}
