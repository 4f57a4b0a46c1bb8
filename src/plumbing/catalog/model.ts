// The catalog's state: everything dm-thin does not know (volumes, branches, tags,
// snapshots and their lineage, remote branches, reflogs) as one JSON value, and the
// invariants every committed state keeps. The mutations live in ops-*.ts.
import {FvmError} from '../../errors.js'
import {nameProblem, printable} from '../names.js'

export const CATALOG_FORMAT = 1
/** dm-thin device ids are 24 bits; 0 is reserved (in a cluster it holds the blocks other hosts own). */
export const MIN_DEVICE_ID = 1
export const MAX_DEVICE_ID = 2 ** 24 - 1
/** The branch a new volume gets, and the default source of new branches and tags. */
export const TRUNK = 'trunk'

export interface CatalogState {
  format: typeof CATALOG_FORMAT
  instance: {uuid: string; name: string}
  deviceIds: DeviceIdRange
  /** The most bytes all volumes together may address (their virtual sizes); null: no limit. */
  quota: number | null
  /** By uuid. */
  volumes: Record<string, Volume>
  /** Every point-in-time copy of every volume, by uuid. */
  snapshots: Record<string, Snapshot>
  /**
   * Streams from other instances being received, by the uuid of the snapshot they carry:
   * staged devices no name shows, kept so an interrupted transfer resumes where it stopped.
   */
  receiving: Record<string, Receiving>
}

/** A snapshot another instance is sending, staged in its own device until it is complete. */
export interface Receiving {
  instance: string
  branch: string
  /** The volume as the stream names it; it may not exist here yet. */
  volume: {uuid: string; name: string; size: number}
  snapshot: {uuid: string; parent: string | null; created: string}
  /** The local snapshot the stream is a delta against (the staged device began as its copy); null: a full stream. */
  base: string | null
  device: number
  /** The remote branch's head the sender saw, swapped for the new one at the end (compare-and-swap). */
  replaces: string | null
  /** The sender allows a head that is not an ancestor to be replaced (kept in the reflog). */
  force: boolean
  /** Bytes into the volume up to which the stream is applied and committed: where the next attempt resumes. */
  received: number
  started: string
}

/**
 * The device ids this instance hands out: `first`..`last` (all of 1..2^24-1 alone; a
 * slice of it in a cluster). They are taken round-robin from `next`, skipping ids in
 * use: a freed id comes back only after the whole range has gone by, so a stale
 * reference to it is very unlikely to meet a new device, yet the range is only
 * exhausted when every id in it is live.
 */
export interface DeviceIdRange {
  first: number
  last: number
  next: number
}

export interface Volume {
  uuid: string
  name: string
  /** Virtual size in bytes, the same for every branch and tag. */
  size: number
  created: string
  source: VolumeSource
  /** Local, writable branches by name. */
  branches: Record<string, Branch>
  /** By name. */
  tags: Record<string, Tag>
  /** Read-only copies of other instances' branches: instance name -> branch name -> snapshot uuid. */
  remoteBranches: Record<string, Record<string, string>>
  /** What happened to each remote branch (instance name -> branch name -> entries), newest first. */
  remoteReflogs: Record<string, Record<string, ReflogEntry[]>>
}

/** Where a volume's first content came from; informational, it may outlive what it names. */
export type VolumeSource =
  | {kind: 'empty'}
  /** The executor filled the new device from this image. */
  | {kind: 'image'; image: string}
  /**
   * A copy of another volume's branch, remote branch or tag (`ref`, as it was named
   * then). `descendsFrom` is the newest snapshot of the source the copy's content comes
   * from: the tag's or remote head's own, a branch's base; null when the source had none.
   */
  | {kind: 'copy'; ref: string; volume: string; descendsFrom: string | null}
  /** Created by the first snapshot another instance pushed. */
  | {kind: 'received'; instance: string}

export interface Branch {
  name: string
  /** Its writable thin device. */
  device: number
  /**
   * The newest snapshot of this branch's line: where it started from, or its last tag,
   * branch point, push base or rollback target. Its content is an ancestor of the
   * device's; it is the parent of the branch's next snapshot and the base of deltas.
   * Null for a new volume's first branch until its first snapshot.
   */
  base: string | null
  created: string
  /** What happened to the branch, newest first. */
  reflog: ReflogEntry[]
  /**
   * The newest snapshot of this branch each other instance is known to hold (instance
   * name -> snapshot uuid): the delta base of the next push there, so it keeps its device.
   */
  pushed: Record<string, string>
}

/**
 * A local branch's actions (a pull's fast-forward among them), then a remote branch's:
 * a received head, a forced one (displacing the old head).
 */
export type ReflogAction = 'create' | 'rollback' | 'rollback-undo' | 'fast-forward' | 'received' | 'forced'

export interface ReflogEntry {
  action: ReflogAction
  time: string
  /** The snapshot the branch (re)started from: its base after the action. */
  to: string | null
  /** What the branch held until then, kept as a hidden snapshot so the action can be undone. */
  displaced: string | null
}

/** A name for a snapshot of the volume; immutable. */
export interface Tag {
  name: string
  snapshot: string
}

export interface Snapshot {
  uuid: string
  volume: string
  /** The snapshot this one's content descends from (same volume); the lineage. */
  parent: string | null
  /** Its read-only thin device; null once collected (the record stays for the lineage). */
  device: number | null
  created: string
  origin: SnapshotOrigin
}

/** Why a snapshot was made, with the names as they were then. */
export type SnapshotOrigin =
  | {kind: 'tag'; tag: string}
  /** Taken when `branch` was made from branch `from`: their shared point. */
  | {kind: 'branch-point'; branch: string; from: string}
  /** A branch's content that `by` replaced; the reflog keeps it for undo. */
  | {kind: 'displaced'; branch: string; by: 'rollback' | 'rollback-undo'}
  /** A frozen copy of `branch` to send to another instance. */
  | {kind: 'push-base'; branch: string}
  /** Sent by `instance` as the head of its `branch`. */
  | {kind: 'received'; instance: string; branch: string}

export function newCatalogState(options: {
  instance: {uuid: string; name: string}
  deviceIds?: {first: number; last: number}
  quota?: number | null
}): CatalogState {
  const {first, last} = options.deviceIds ?? {first: MIN_DEVICE_ID, last: MAX_DEVICE_ID}
  const state: CatalogState = {
    format: CATALOG_FORMAT,
    instance: {...options.instance},
    deviceIds: {first, last, next: first},
    quota: options.quota ?? null,
    volumes: {},
    snapshots: {},
    receiving: {},
  }
  checkCatalogInvariants(state)
  return state
}

// Records keyed by names: every name the grammar allows must work as a key, and
// "constructor" and "__proto__" are such names. So reads look at own properties only
// and writes define them (plain assignment of "__proto__" would set the prototype).

export function entry<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined
}

export function setEntry<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, {value, enumerable: true, writable: true, configurable: true})
}

export function deleteEntry<T>(record: Record<string, T>, key: string): void {
  delete record[key]
}

/** Who holds each live device id: a branch or a snapshot. */
export function deviceHolders(state: CatalogState): Map<number, string> {
  const holders = new Map<number, string>()
  for (const volume of Object.values(state.volumes)) {
    for (const branch of Object.values(volume.branches)) holders.set(branch.device, `branch "${volume.name}/${branch.name}"`)
  }
  for (const snapshot of Object.values(state.snapshots)) {
    if (snapshot.device !== null) holders.set(snapshot.device, `snapshot ${snapshot.uuid}`)
  }
  for (const staged of Object.values(state.receiving)) holders.set(staged.device, `snapshot ${staged.snapshot.uuid} being received`)
  return holders
}

/** Throws `corrupt` listing what is wrong with `value` as a catalog state. */
export function checkCatalogInvariants(value: unknown): asserts value is CatalogState {
  const problems = catalogProblems(value)
  if (problems.length === 0) return
  const shown = problems.slice(0, 5).join('; ')
  const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''
  throw new FvmError('corrupt', `catalog state is inconsistent: ${shown}${more}`, {hint: 'run "fvm check"'})
}

/** Everything wrong with `value` as a catalog state: its shape first, then the links between records. */
export function catalogProblems(value: unknown): string[] {
  const shape: string[] = []
  checkStateShape(value, shape)
  if (shape.length > 0) return shape
  return linkProblems(value as CatalogState)
}

// Shape: every field present, of its type, with valid names, ids, uuids and times.

type Fields = Record<string, unknown>

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value)
}

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isTime(value: unknown): boolean {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value))
}

function isDeviceId(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= MIN_DEVICE_ID && (value as number) <= MAX_DEVICE_ID
}

function isSize(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0
}

function checkNameField(value: unknown, at: string, problems: string[]): void {
  const problem = typeof value === 'string' ? nameProblem(value) : 'is not a string'
  if (problem) problems.push(`${at} has invalid name "${printable(String(value))}": ${problem}`)
}

function must(ok: boolean, problem: string, problems: string[]): void {
  if (!ok) problems.push(problem)
}

/** Checks `value` is an object; reports it and returns undefined if not. */
function fields(value: unknown, at: string, problems: string[]): Fields | undefined {
  if (isFields(value)) return value
  problems.push(`${at} is not an object`)
  return undefined
}

function checkStateShape(value: unknown, problems: string[]): void {
  const state = fields(value, 'the catalog', problems)
  if (!state) return
  must(state.format === CATALOG_FORMAT, `format is ${String(state.format)}, this fvm reads ${CATALOG_FORMAT}`, problems)
  const instance = fields(state.instance, 'instance', problems)
  if (instance) {
    must(isUuid(instance.uuid), 'instance uuid is not a uuid', problems)
    checkNameField(instance.name, 'instance', problems)
  }
  const ids = fields(state.deviceIds, 'deviceIds', problems)
  if (ids) {
    const {first, last, next} = ids
    const ordered = isDeviceId(first) && isDeviceId(last) && isDeviceId(next) && first <= next && next <= last
    must(ordered, `deviceIds ${JSON.stringify(ids)} are not ids with first <= next <= last`, problems)
  }
  must(state.quota === null || isSize(state.quota), 'quota is neither null nor a positive byte count', problems)
  const snapshots = fields(state.snapshots, 'snapshots', problems)
  for (const [key, snapshot] of Object.entries(snapshots ?? {})) checkSnapshotShape(key, snapshot, problems)
  const volumes = fields(state.volumes, 'volumes', problems)
  for (const [key, volume] of Object.entries(volumes ?? {})) checkVolumeShape(key, volume, problems)
  const receiving = fields(state.receiving, 'receiving', problems)
  for (const [key, staged] of Object.entries(receiving ?? {})) checkReceivingShape(key, staged, problems)
}

function checkReceivingShape(key: string, value: unknown, problems: string[]): void {
  const at = `snapshot ${printable(key)} being received`
  const staged = fields(value, at, problems)
  if (!staged) return
  checkNameField(staged.instance, `${at} instance`, problems)
  checkNameField(staged.branch, `${at} branch`, problems)
  const volume = fields(staged.volume, `${at} volume`, problems)
  if (volume) {
    must(isUuid(volume.uuid) && isSize(volume.size), `${at} has a bad volume uuid or size`, problems)
    checkNameField(volume.name, `${at} volume`, problems)
  }
  const snapshot = fields(staged.snapshot, `${at} snapshot`, problems)
  if (snapshot) {
    must(isUuid(key) && snapshot.uuid === key, `${at} is not keyed by its snapshot's uuid`, problems)
    must(snapshot.parent === null || isUuid(snapshot.parent), `${at} has a bad parent`, problems)
    must(isTime(snapshot.created), `${at} has a bad creation time`, problems)
  }
  must(staged.base === null || isUuid(staged.base), `${at} has a bad base`, problems)
  must(staged.replaces === null || isUuid(staged.replaces), `${at} has a bad head to replace`, problems)
  must(typeof staged.force === 'boolean', `${at} has no force flag`, problems)
  must(isDeviceId(staged.device), `${at} has a bad device id`, problems)
  const size = isFields(volume) && isSize(volume.size) ? volume.size : 0
  must(Number.isSafeInteger(staged.received) && (staged.received as number) >= 0 && (staged.received as number) <= size, `${at} has a bad progress`, problems)
  must(isTime(staged.started), `${at} has a bad start time`, problems)
}

function checkSnapshotShape(key: string, value: unknown, problems: string[]): void {
  const at = `snapshot ${printable(key)}`
  const snapshot = fields(value, at, problems)
  if (!snapshot) return
  must(isUuid(key) && snapshot.uuid === key, `${at} is not keyed by its uuid`, problems)
  must(isUuid(snapshot.volume), `${at} has no volume uuid`, problems)
  must(snapshot.parent === null || isUuid(snapshot.parent), `${at} has a bad parent`, problems)
  must(snapshot.device === null || isDeviceId(snapshot.device), `${at} has a bad device id`, problems)
  must(isTime(snapshot.created), `${at} has a bad creation time`, problems)
  const origin = fields(snapshot.origin, `${at} origin`, problems)
  if (!origin) return
  const names = (...keys: string[]): void => keys.forEach((k) => checkNameField(origin[k], `${at} origin ${k}`, problems))
  switch (origin.kind) {
    case 'tag':
      return names('tag')
    case 'branch-point':
      return names('branch', 'from')
    case 'displaced':
      must(origin.by === 'rollback' || origin.by === 'rollback-undo', `${at} was displaced by an unknown action`, problems)
      return names('branch')
    case 'push-base':
      return names('branch')
    case 'received':
      return names('instance', 'branch')
    default:
      problems.push(`${at} has an unknown origin "${printable(String(origin.kind))}"`)
  }
}

function checkVolumeShape(key: string, value: unknown, problems: string[]): void {
  const volume = fields(value, `volume ${printable(key)}`, problems)
  if (!volume) return
  const at = `volume "${printable(String(volume.name))}"`
  must(isUuid(key) && volume.uuid === key, `${at} is not keyed by its uuid`, problems)
  checkNameField(volume.name, at, problems)
  must(isSize(volume.size), `${at} has a bad size`, problems)
  must(isTime(volume.created), `${at} has a bad creation time`, problems)
  checkSourceShape(volume.source, at, problems)
  for (const [name, branch] of Object.entries(fields(volume.branches, `${at} branches`, problems) ?? {})) {
    checkBranchShape(name, branch, `${at} branch "${printable(name)}"`, problems)
  }
  for (const [name, tag] of Object.entries(fields(volume.tags, `${at} tags`, problems) ?? {})) {
    const where = `${at} tag "${printable(name)}"`
    const t = fields(tag, where, problems)
    if (!t) continue
    checkNameField(name, where, problems)
    must(t.name === name, `${where} is not keyed by its name`, problems)
    must(isUuid(t.snapshot), `${where} has no snapshot uuid`, problems)
  }
  for (const [instance, heads] of Object.entries(fields(volume.remoteBranches, `${at} remote branches`, problems) ?? {})) {
    const where = `${at} remote instance "${printable(instance)}"`
    checkNameField(instance, where, problems)
    for (const [branch, snapshot] of Object.entries(fields(heads, where, problems) ?? {})) {
      checkNameField(branch, `${where} branch`, problems)
      must(isUuid(snapshot), `${where} branch "${printable(branch)}" has no snapshot uuid`, problems)
    }
  }
  for (const [instance, logs] of Object.entries(fields(volume.remoteReflogs, `${at} remote reflogs`, problems) ?? {})) {
    const where = `${at} remote instance "${printable(instance)}"`
    checkNameField(instance, where, problems)
    for (const [branch, reflog] of Object.entries(fields(logs, where, problems) ?? {})) {
      checkNameField(branch, `${where} branch`, problems)
      checkReflogShape(reflog, REMOTE_REFLOG_ACTIONS, `${where} branch "${printable(branch)}"`, problems)
    }
  }
}

function checkSourceShape(value: unknown, at: string, problems: string[]): void {
  const source = fields(value, `${at} source`, problems)
  if (!source) return
  switch (source.kind) {
    case 'empty':
      return
    case 'image':
      return must(typeof source.image === 'string' && source.image.length > 0, `${at} has no image name`, problems)
    case 'copy':
      must(typeof source.ref === 'string' && isUuid(source.volume), `${at} has a bad copy source`, problems)
      return must(source.descendsFrom === null || isUuid(source.descendsFrom), `${at} has a bad copy source snapshot`, problems)
    case 'received':
      return checkNameField(source.instance, `${at} source instance`, problems)
    default:
      problems.push(`${at} has an unknown source "${printable(String(source.kind))}"`)
  }
}

const BRANCH_REFLOG_ACTIONS: readonly unknown[] = ['create', 'rollback', 'rollback-undo', 'fast-forward'] satisfies ReflogAction[]
const REMOTE_REFLOG_ACTIONS: readonly unknown[] = ['received', 'forced'] satisfies ReflogAction[]
/** The actions that displace nothing: the others keep what they replaced. */
const STARTING_ACTIONS: readonly unknown[] = ['create', 'fast-forward', 'received'] satisfies ReflogAction[]

function checkBranchShape(name: string, value: unknown, at: string, problems: string[]): void {
  const branch = fields(value, at, problems)
  if (!branch) return
  checkNameField(name, at, problems)
  must(branch.name === name, `${at} is not keyed by its name`, problems)
  must(isDeviceId(branch.device), `${at} has a bad device id`, problems)
  must(branch.base === null || isUuid(branch.base), `${at} has a bad base`, problems)
  must(isTime(branch.created), `${at} has a bad creation time`, problems)
  for (const [instance, snapshot] of Object.entries(fields(branch.pushed, `${at} pushed`, problems) ?? {})) {
    checkNameField(instance, `${at} pushed instance`, problems)
    must(isUuid(snapshot), `${at} pushed to "${printable(instance)}" has no snapshot uuid`, problems)
  }
  checkReflogShape(branch.reflog, BRANCH_REFLOG_ACTIONS, at, problems)
}

function checkReflogShape(reflog: unknown, actions: readonly unknown[], at: string, problems: string[]): void {
  if (!Array.isArray(reflog)) {
    problems.push(`${at} reflog is not a list`)
    return
  }
  reflog.forEach((value: unknown, i) => {
    const where = `${at} reflog entry ${i}`
    const e = fields(value, where, problems)
    if (!e) return
    must(actions.includes(e.action), `${where} has an unknown action`, problems)
    must(isTime(e.time), `${where} has a bad time`, problems)
    must(e.to === null || isUuid(e.to), `${where} has a bad target`, problems)
    must(e.displaced === null || isUuid(e.displaced), `${where} has a bad displaced snapshot`, problems)
    must(STARTING_ACTIONS.includes(e.action) === (e.displaced === null), `${where} displaces nothing but starts nothing, or the reverse`, problems)
  })
}

// Links: every reference resolves within its volume, lineage is acyclic, device ids are unique.

function linkProblems(state: CatalogState): string[] {
  const problems: string[] = []
  const {snapshots} = state
  const volumeNames = new Map<string, string>()
  const deviceUsers = new Map<number, string[]>()
  const use = (device: number, user: string): void => {
    deviceUsers.set(device, [...(deviceUsers.get(device) ?? []), user])
  }
  /** Checks that `uuid` names a snapshot of `volume`, with a device when `materialised`. */
  const snapshotIn = (volume: Volume, uuid: string, what: string, materialised: boolean): void => {
    const snapshot = entry(snapshots, uuid)
    if (!snapshot) {
      problems.push(`${what} names missing snapshot ${uuid}`)
      return
    }
    if (snapshot.volume !== volume.uuid) problems.push(`${what} names snapshot ${uuid} of another volume`)
    if (materialised && snapshot.device === null) problems.push(`${what} names snapshot ${uuid}, which has no device`)
  }

  for (const volume of Object.values(state.volumes)) {
    const at = `volume "${volume.name}"`
    const other = volumeNames.get(volume.name)
    if (other !== undefined) problems.push(`volumes ${other} and ${volume.uuid} are both named "${volume.name}"`)
    volumeNames.set(volume.name, volume.uuid)
    for (const branch of Object.values(volume.branches)) {
      const where = `branch "${volume.name}/${branch.name}"`
      use(branch.device, where)
      if (branch.base !== null) snapshotIn(volume, branch.base, `${where} base`, true)
      for (const e of branch.reflog) {
        if (e.to !== null) snapshotIn(volume, e.to, `${where} reflog`, false)
        if (e.displaced !== null) snapshotIn(volume, e.displaced, `${where} reflog`, true)
      }
      for (const [instance, snapshot] of Object.entries(branch.pushed)) {
        if (instance === state.instance.name) problems.push(`${where} records a push to this instance "${instance}"`)
        snapshotIn(volume, snapshot, `${where} push to "${instance}"`, true)
      }
    }
    for (const tag of Object.values(volume.tags)) {
      const where = `tag "${tag.name}@${volume.name}"`
      snapshotIn(volume, tag.snapshot, where, true)
      if (entry(snapshots, tag.snapshot)?.origin.kind !== 'tag') problems.push(`${where} names a snapshot not made as a tag`)
    }
    for (const [instance, heads] of Object.entries(volume.remoteBranches)) {
      if (instance === state.instance.name) problems.push(`${at} has remote branches of this instance "${instance}"`)
      for (const [branch, head] of Object.entries(heads)) {
        snapshotIn(volume, head, `remote branch "${instance}/${volume.name}/${branch}"`, true)
      }
    }
    for (const [instance, logs] of Object.entries(volume.remoteReflogs)) {
      for (const [branch, reflog] of Object.entries(logs)) {
        const where = `remote branch "${instance}/${volume.name}/${branch}" reflog`
        for (const e of reflog) {
          if (e.to !== null) snapshotIn(volume, e.to, where, false)
          if (e.displaced !== null) snapshotIn(volume, e.displaced, where, true)
        }
      }
    }
  }

  for (const staged of Object.values(state.receiving)) {
    const at = `snapshot ${staged.snapshot.uuid} being received`
    use(staged.device, at)
    if (entry(snapshots, staged.snapshot.uuid)) problems.push(`${at} is already a snapshot here`)
  }

  for (const snapshot of Object.values(snapshots)) {
    const at = `snapshot ${snapshot.uuid}`
    if (!entry(state.volumes, snapshot.volume)) problems.push(`${at} belongs to missing volume ${snapshot.volume}`)
    if (snapshot.device !== null) use(snapshot.device, at)
    if (snapshot.parent === null) continue
    const parent = entry(snapshots, snapshot.parent)
    if (!parent) problems.push(`${at} has missing parent ${snapshot.parent}`)
    else if (parent.volume !== snapshot.volume) problems.push(`${at} has parent ${parent.uuid} in another volume`)
  }
  problems.push(...lineageCycles(snapshots))

  const used = Object.values(state.volumes).reduce((sum, volume) => sum + volume.size, 0)
  if (state.quota !== null && used > state.quota) problems.push(`volumes address ${used} bytes, over the quota of ${state.quota}`)

  for (const [device, users] of deviceUsers) {
    if (users.length > 1) problems.push(`device ${device} is used by ${users.length} holders: ${users.join(', ')}`)
  }
  return problems
}

function lineageCycles(snapshots: Record<string, Snapshot>): string[] {
  const done = new Set<string>()
  const problems: string[] = []
  for (const start of Object.keys(snapshots)) {
    const path = new Set<string>()
    let uuid: string | null = start
    while (uuid !== null && !done.has(uuid) && entry(snapshots, uuid)) {
      if (path.has(uuid)) {
        problems.push(`the lineage through snapshot ${uuid} is a cycle`)
        break
      }
      path.add(uuid)
      uuid = snapshots[uuid].parent
    }
    for (const seen of path) done.add(seen)
  }
  return problems
}
