// Tags: a named, read-only, immutable snapshot of a branch (or of a remote branch's head).
import {FvmError} from '../../errors.js'
import {type CatalogState, TRUNK, deleteEntry, entry, setEntry} from './model.js'
import {releaseSnapshots} from './ops-gc.js'
import {
  type Mutation,
  type OpContext,
  addSnapshot,
  draftOf,
  findSource,
  findTag,
  parseIn,
  sourceDevice,
  takeDeviceIds,
  volumeNamed,
} from './ops-shared.js'

export interface CreateTagRequest {
  /** TAG@VOLUME */
  tag: string
  /** The branch or remote branch of that volume to tag; default its trunk. */
  from?: string
}

export interface CreateTagResult {
  tag: string
  snapshot: string
  device: number
  from: string
}

/**
 * Snapshots the branch's device into the tag's. The new snapshot's parent is the
 * branch's base, and it becomes the branch's base: the newest point of its line.
 */
export function createTag(state: CatalogState, request: CreateTagRequest, context: OpContext): Mutation<CreateTagResult> {
  const target = parseIn(state, request.tag, ['tag'])
  const draft = draftOf(state)
  const volume = volumeNamed(draft, target.volume)
  const name = `${target.tag}@${volume.name}`
  if (entry(volume.tags, target.tag)) {
    throw new FvmError('conflict', `tag "${name}" already exists`, {hint: 'tags are immutable: remove it first, or choose another name'})
  }
  const source = findSource(draft, parseIn(draft, request.from ?? `${volume.name}/${TRUNK}`, ['branch', 'remote-branch']))
  if (source.volume.uuid !== volume.uuid) {
    throw new FvmError('usage', `cannot tag "${source.ref}" as "${name}": it is in another volume`)
  }
  const [device] = takeDeviceIds(draft, 1)
  const parent = source.kind === 'branch' ? source.branch.base : source.snapshot.uuid
  const snapshot = addSnapshot(draft, context, {volume, parent, device, origin: {kind: 'tag', tag: target.tag}})
  if (source.kind === 'branch') source.branch.base = snapshot.uuid
  setEntry(volume.tags, target.tag, {name: target.tag, snapshot: snapshot.uuid})
  return {
    state: draft,
    plan: [{op: 'create_snap', id: device, origin: sourceDevice(source)}],
    result: {tag: name, snapshot: snapshot.uuid, device, from: source.ref},
  }
}

export interface RemoveTagResult {
  tag: string
  /** The tag's device, unless it is still some branch's base or a remote head (then gc takes it later). */
  deleted: number[]
}

export function removeTag(state: CatalogState, request: {tag: string}): Mutation<RemoveTagResult> {
  const ref = parseIn(state, request.tag, ['tag'])
  const draft = draftOf(state)
  const {volume, snapshot} = findTag(draft, ref)
  deleteEntry(volume.tags, ref.tag)
  const plan = releaseSnapshots(draft, [snapshot.uuid])
  return {state: draft, plan, result: {tag: `${ref.tag}@${volume.name}`, deleted: plan.map((op) => op.id)}}
}
