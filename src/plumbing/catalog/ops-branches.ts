// Branches: create (from a branch, a tag, a remote branch or a kept snapshot of the
// same volume), remove, rename.
import {FvmError} from '../../errors.js'
import {checkName} from '../names.js'
import {type Branch, type CatalogState, TRUNK, type Volume, deleteEntry, entry, isUuid, setEntry} from './model.js'
import {releaseSnapshots} from './ops-gc.js'
import {
  type DmOp,
  type Materialised,
  type Mutation,
  type OpContext,
  type Source,
  addSnapshot,
  draftOf,
  findBranch,
  findSource,
  parseIn,
  takeDeviceIds,
  volumeNamed,
} from './ops-shared.js'

export interface CreateBranchRequest {
  /** VOLUME/BRANCH */
  branch: string
  /** A branch, remote branch or tag of the same volume (a bare TAG means one of it); default its trunk. */
  from?: string
}

export interface CreateBranchResult {
  branch: string
  device: number
  /** The source as a reference. */
  from: string
  /** The snapshot the branch starts from: the tag, the remote head, or the new branch point. */
  base: string
  /** Set when branching from a branch: the snapshot of the point both now share. */
  branchPoint: string | null
}

/**
 * From a branch, two snapshots of its device: a read-only branch point (the shared
 * point, kept as a delta base for push) and the new branch. From a tag or a remote
 * branch, one snapshot of its device; that snapshot itself is the shared point.
 */
export function createBranch(state: CatalogState, request: CreateBranchRequest, context: OpContext): Mutation<CreateBranchResult> {
  const target = parseIn(state, request.branch, ['branch'])
  const draft = draftOf(state)
  const volume = volumeNamed(draft, target.volume)
  if (entry(volume.branches, target.branch)) throw new FvmError('conflict', `branch "${volume.name}/${target.branch}" already exists`)
  const source =
    request.from === undefined
      ? trunkOf(volume, target.branch)
      : isUuid(request.from)
        ? snapshotSource(draft, request.from)
        : findSource(draft, parseIn(draft, request.from, ['branch', 'remote-branch', 'tag'], volume.name))
  if (source.volume.uuid !== volume.uuid) {
    throw new FvmError('usage', `cannot make branch "${volume.name}/${target.branch}" from "${source.ref}": it is in another volume`, {
      hint: 'a new volume can start as a copy of it',
    })
  }

  let plan: DmOp[]
  let base: string
  let branchPoint: string | null = null
  if (source.kind === 'branch') {
    const [pointDevice, device] = takeDeviceIds(draft, 2)
    const origin = source.branch.device
    const point = addSnapshot(draft, context, {
      volume,
      parent: source.branch.base,
      device: pointDevice,
      origin: {kind: 'branch-point', branch: target.branch, from: source.branch.name},
    })
    source.branch.base = point.uuid
    base = branchPoint = point.uuid
    plan = [
      {op: 'create_snap', id: pointDevice, origin},
      {op: 'create_snap', id: device, origin},
    ]
  } else {
    const [device] = takeDeviceIds(draft, 1)
    base = source.snapshot.uuid
    plan = [{op: 'create_snap', id: device, origin: source.snapshot.device}]
  }

  const branch: Branch = {
    name: target.branch,
    device: plan[plan.length - 1].id,
    base,
    created: context.now,
    reflog: [{action: 'create', time: context.now, to: base, displaced: null}],
    pushed: {},
  }
  setEntry(volume.branches, branch.name, branch)
  const result = {branch: `${volume.name}/${branch.name}`, device: branch.device, from: source.ref, base, branchPoint}
  return {state: draft, plan, result}
}

function trunkOf(volume: Volume, forBranch: string): Source {
  const trunk = entry(volume.branches, TRUNK)
  if (!trunk) {
    throw new FvmError('notFound', `volume "${volume.name}" has no branch "${TRUNK}" to make "${volume.name}/${forBranch}" from`, {
      hint: 'name the branch or tag to start from',
    })
  }
  return {kind: 'branch', ref: `${volume.name}/${TRUNK}`, volume, branch: trunk}
}

export interface RemoveBranchResult {
  branch: string
  /** The branch's device, then the devices of its snapshots nothing else needs. */
  deleted: number[]
}

/**
 * Deletes the branch's device, and the devices of its base, reflog and push snapshots
 * unless something else needs them. A volume's last branch stays (its data would go with it,
 * which is what removing the volume is for); any other, trunk included, may go.
 */
export function removeBranch(state: CatalogState, request: {branch: string}): Mutation<RemoveBranchResult> {
  const ref = parseIn(state, request.branch, ['branch'])
  const draft = draftOf(state)
  const {volume, branch} = findBranch(draft, ref)
  const name = `${volume.name}/${branch.name}`
  if (Object.keys(volume.branches).length === 1) {
    throw new FvmError('conflict', `cannot remove branch "${name}": it is the last branch of volume "${volume.name}"`, {
      hint: `remove volume "${volume.name}" instead, or make another branch first`,
    })
  }
  deleteEntry(volume.branches, branch.name)
  const plan: DmOp[] = [
    {op: 'delete', id: branch.device},
    ...releaseSnapshots(draft, [branch.base, ...branch.reflog.map((e) => e.displaced), ...Object.values(branch.pushed)]),
  ]
  return {state: draft, plan, result: {branch: name, deleted: plan.map((op) => op.id)}}
}

/** Renames a branch within its volume; history keeps the old name, as it was then. */
export function renameBranch(state: CatalogState, request: {branch: string; to: string}): Mutation<{from: string; to: string}> {
  const ref = parseIn(state, request.branch, ['branch'])
  const to = checkName('branch', request.to)
  const draft = draftOf(state)
  const {volume, branch} = findBranch(draft, ref)
  const result = {from: `${volume.name}/${branch.name}`, to: `${volume.name}/${to}`}
  if (to === branch.name) return {state: draft, plan: [], result}
  if (entry(volume.branches, to)) throw new FvmError('conflict', `branch "${result.to}" already exists`)
  deleteEntry(volume.branches, branch.name)
  branch.name = to
  setEntry(volume.branches, to, branch)
  return {state: draft, plan: [], result}
}

/** A snapshot named by its uuid (as `fvm log` shows it): what a reflog entry kept, say. */
function snapshotSource(state: CatalogState, uuid: string): Source {
  const snapshot = entry(state.snapshots, uuid)
  if (!snapshot) throw new FvmError('notFound', `snapshot ${uuid} does not exist`, {hint: '"fvm log VOLUME" lists the snapshots'})
  if (snapshot.device === null) throw new FvmError('notFound', `snapshot ${uuid} has no device any more: gc collected it`)
  return {kind: 'snapshot', ref: uuid, volume: state.volumes[snapshot.volume], snapshot: snapshot as Materialised}
}
