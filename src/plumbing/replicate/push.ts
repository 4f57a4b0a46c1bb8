// `fvm push`: for each branch, ask the receiver what it has, choose the snapshot to send
// and the newest one both have, refuse what is not a fast-forward unless forced, and
// send the delta; an interrupted stream the receiver staged is finished first.
import {FvmError} from '../../errors.js'
import {type Branch, type Volume, entry} from '../catalog/model.js'
import {type RecordPushRequest, recordPush} from '../catalog/ops-remote.js'
import {type Materialised, findBranch, materialised, parseIn, volumeNamed} from '../catalog/ops-shared.js'
import {type InstanceContext, type OpenInstance, withInstanceAsync} from '../instance-open.js'
import {checkName} from '../names.js'
import {setRemoteInstance} from '../remotes.js'
import type {ConnectOptions} from '../transport/connect.js'
import {type Peer, withConnection, withPeer} from './client.js'
import {commonBase, lineageOf, planStream, sendableSnapshot, unchangedSinceBase} from './negotiate.js'
import {type PlannedExtents, type SendProgress, planExtents, planFewExtents, sendStream} from './send.js'
import {type Message, field} from './session.js'
import {type Operation, commitOperationAfter} from '../transaction.js'

export type PushAction = 'new' | 'fast-forward' | 'forced' | 'up-to-date' | 'refused'

export interface PushedBranch {
  branch: string
  /** What it is called on the receiver: THIS-INSTANCE/VOLUME/BRANCH. */
  remoteBranch: string
  action: PushAction
  /** The snapshot sent (or that would be); null when refused before one was chosen. */
  snapshot: string | null
  /** The snapshot the stream is a delta against; null for a full stream. */
  base: string | null
  /** Where an interrupted stream was resumed; 0 for a fresh one. */
  resumedFrom: number
  /** Volume data the stream carries (what --dry-run would send). */
  dataBytes: number
  /** Bytes this branch put on the wire, messages included. */
  bytesSent: number
  /** Why it was refused. */
  reason?: string
}

export interface PushResult {
  remote: string
  instance: string
  dryRun: boolean
  branches: PushedBranch[]
  /** Every byte written to the connection. */
  bytesSent: number
}

export interface PushOptions extends InstanceContext, ConnectOptions {
  /** VOLUME or VOLUME/BRANCH; none: every branch of every volume. */
  refs: string[]
  force: boolean
  dryRun: boolean
  /** The volume's name on the receiver, when it is new there (one volume only). */
  as?: string
  /** A progress display for each stream: its data bytes in total. */
  progress?: (branch: string, total: number) => SendProgress
}

/** VOLUME/BRANCH names the refs stand for, in order, each once. */
function selectBranches(instance: OpenInstance, refs: string[]): string[] {
  const state = instance.catalog.committed().value
  const all = (volume: Volume): string[] => Object.keys(volume.branches).sort().map((b) => `${volume.name}/${b}`)
  if (refs.length === 0) return Object.values(state.volumes).sort((a, b) => (a.name < b.name ? -1 : 1)).flatMap(all)
  const chosen = refs.flatMap((text) => {
    const ref = parseIn(state, text, ['volume', 'branch'])
    if (ref.kind === 'volume') return all(volumeNamed(state, ref.volume))
    findBranch(state, ref)
    return [`${ref.volume}/${ref.branch}`]
  })
  return [...new Set(chosen)]
}

export async function push(o: PushOptions): Promise<PushResult> {
  const as = o.as === undefined ? undefined : checkName('volume', o.as)
  const result = await withConnection(o, (dialled) =>
    withInstanceAsync(o, async (instance) => {
      const branches = selectBranches(instance, o.refs)
      if (as !== undefined && new Set(branches.map((b) => b.split('/')[0])).size > 1) {
        throw new FvmError('usage', `--as names one volume, but ${o.refs.join(', ') || 'everything'} is more than one`)
      }
      const guess = (): LikelyStream | undefined => (branches.length === 1 && !o.dryRun ? likelyStream(instance, branches[0]) : undefined)
      return withPeer(
        instance,
        dialled,
        async (peer, early) => {
          const pushed: PushedBranch[] = []
          for (const branch of branches) pushed.push(await pushBranch(instance, peer, branch, o, as, early))
          return {remote: peer.remote ?? o.remote, instance: peer.name, dryRun: o.dryRun, branches: pushed, bytesSent: peer.session.bytesSent, peer: peer.remote}
        },
        guess,
      )
    }),
  )
  const {peer, ...pushResult} = result
  if (peer !== null && !o.dryRun) setRemoteInstance(o.home, peer, pushResult.instance)
  return pushResult
}

interface RemoteView {
  head: string | null
  have: Set<string>
  receiving: {snapshot: string; base: string | null; received: number} | null
}

async function askRemote(peer: Peer, instanceName: string, volume: Volume, branch: Branch): Promise<RemoteView> {
  await peer.session.send({op: 'state', volume: volume.uuid, instance: instanceName, branch: branch.name})
  const answer = await peer.session.receive(['state'], `asking about "${volume.name}/${branch.name}"`)
  const have = answer.have
  if (!Array.isArray(have) || have.some((u) => typeof u !== 'string')) throw new FvmError('corrupt', 'message "state": field "have" is not a list of uuids')
  const staged = answer.receiving === null ? null : (field(answer, 'receiving', 'object') as Message)
  const receiving = staged && {
    snapshot: field(staged, 'snapshot', 'string'),
    base: field(staged, 'base', 'string', {nullable: true}),
    received: field(staged, 'received', 'number'),
  }
  return {head: field(answer, 'head', 'string', {nullable: true}), have: new Set(have as string[]), receiving}
}

/** The most extents a walk done early may find: a wrong guess then costs little more than the greeting it overlaps. */
const LIKELY_STREAM_EXTENTS = 4096

/** The delta walk of a push, done before the other side answers, and the base it is against. */
interface LikelyStream {
  branch: string
  base: string
  walked: PlannedExtents
}

/**
 * The stream a push of the branch will most likely send, worked out while the other side
 * opens its instance to answer our hello (the walk is the one step between its answer
 * and the data that costs much): against the snapshot the branch was last pushed as,
 * when it was pushed to one instance only, and from the branch's device, which the
 * push's snapshot of it will map the same as (the open instance is locked: nothing
 * writes in between). None for a walk longer than a guess is worth.
 */
function likelyStream(instance: OpenInstance, ref: string): LikelyStream | undefined {
  const state = instance.catalog.committed().value
  const {volume, branch} = findBranch(state, parseIn(state, ref, ['branch']))
  const pushed = Object.values(branch.pushed)
  const base = pushed.length === 1 ? entry(state.snapshots, pushed[0]) : undefined
  if (base?.device == null) return undefined
  const walked = planFewExtents({pool: instance.pool, base: base.device, target: branch.device, size: volume.size, resumeFrom: 0}, LIKELY_STREAM_EXTENTS)
  return walked && {branch: ref, base: base.uuid, walked}
}

/** Pushes one branch, recording what the other side then holds. */
async function pushBranch(instance: OpenInstance, peer: Peer, ref: string, o: PushOptions, as: string | undefined, early?: LikelyStream): Promise<PushedBranch> {
  const me = instance.config.name
  const state = instance.catalog.committed().value
  const {volume, branch} = findBranch(state, parseIn(state, ref, ['branch']))
  const remoteBranch = `${me}/${as ?? volume.name}/${branch.name}`
  const sentBefore = peer.session.bytesSent
  const outcome = (fields: Omit<PushedBranch, 'branch' | 'remoteBranch' | 'bytesSent'>): PushedBranch => ({
    branch: ref,
    remoteBranch,
    ...fields,
    bytesSent: peer.session.bytesSent - sentBefore,
  })
  const view = await askRemote(peer, me, volume, branch)
  const resumable = resumableTarget(instance, volume, view)
  if (o.dryRun) return outcome(dryRun(instance, volume, branch, view, resumable, o.force))

  const target = resumable?.snapshot ?? sendableSnapshot(instance, ref, o)
  if (view.head === target.uuid) return outcome({action: 'up-to-date', snapshot: target.uuid, base: null, resumedFrom: 0, dataBytes: 0})
  const line = lineageOf(instance.catalog.committed().value, target.uuid)
  const fastForward = view.head === null || line.includes(view.head)
  if (!fastForward && !o.force) {
    return outcome({action: 'refused', snapshot: target.uuid, base: null, resumedFrom: 0, dataBytes: 0, reason: notFastForward(peer.name, remoteBranch)})
  }
  const base = resumable?.base ?? deltaBase(instance, line, view, fastForward)
  const record: Operation<RecordPushRequest> = (s) => recordPush(s, {branch: ref, instance: peer.name, snapshot: target.uuid})
  // The walk done early holds for a new snapshot of the branch (not a staged one) against the same base.
  const walked = !resumable && early?.branch === ref && early.base === base ? early.walked : undefined
  const request = {volume, branch, target, base, expected: view.head, force: o.force, as, resumeFrom: resumable?.received ?? 0, walked, record}
  const sent = await sendSnapshot(instance, peer, request, o)
  const action: PushAction = view.head === null ? 'new' : fastForward ? 'fast-forward' : 'forced'
  const done = outcome({action, snapshot: target.uuid, base, resumedFrom: sent.resumedFrom, dataBytes: sent.dataBytes})
  // A resumed stream carried the branch as it was then: send what changed since, too.
  if (resumable && sendableSnapshot(instance, ref, o).uuid !== target.uuid) {
    const rest = await pushBranch(instance, peer, ref, o, as)
    return {...rest, resumedFrom: done.resumedFrom, dataBytes: done.dataBytes + rest.dataBytes, bytesSent: peer.session.bytesSent - sentBefore}
  }
  return done
}

function notFastForward(peerName: string, remoteBranch: string): string {
  return `"${remoteBranch}" on "${peerName}" has a head that is not in this branch's line (not a fast-forward)`
}

/** The newest snapshot both sides have: the receiver's head itself for a fast-forward, which keeps its line. */
function deltaBase(instance: OpenInstance, line: string[], view: RemoteView, fastForward: boolean): string | null {
  const state = instance.catalog.committed().value
  if (fastForward && view.head !== null && entry(state.snapshots, view.head)?.device != null) return view.head
  return commonBase(state, line, view.have)
}

/** The snapshot of an interrupted push the receiver staged, if it is still here to finish it. */
function resumableTarget(
  instance: OpenInstance,
  volume: Volume,
  view: RemoteView,
): {snapshot: Materialised; base: string | null; received: number} | null {
  const staged = view.receiving
  if (!staged) return null
  const state = instance.catalog.committed().value
  const snapshot = entry(state.snapshots, staged.snapshot)
  const base = staged.base === null ? null : entry(state.snapshots, staged.base)
  if (!snapshot || snapshot.volume !== volume.uuid || snapshot.device === null) return null
  if (base !== null && (!base || base.device === null)) return null
  return {snapshot: snapshot as Materialised, base: staged.base, received: staged.received}
}

interface SendRequest {
  volume: Volume
  branch: Branch
  target: Materialised
  base: string | null
  expected: string | null
  force: boolean
  as: string | undefined
  /** Where the receiver said its staged stream stands (0: none). */
  resumeFrom: number
  /** The stream's delta walk from byte 0, if it was done early (likelyStream). */
  walked: PlannedExtents | undefined
  /** Records what the receiver holds once it has published the stream, committed then. */
  record: Operation<RecordPushRequest>
}

async function sendSnapshot(instance: OpenInstance, peer: Peer, r: SendRequest, o: PushOptions): Promise<{resumedFrom: number; dataBytes: number}> {
  const {session} = peer
  await session.send({
    op: 'receive',
    instance: instance.config.name,
    volume: {uuid: r.volume.uuid, name: r.as ?? r.volume.name, size: r.volume.size},
    branch: r.branch.name,
    snapshot: {uuid: r.target.uuid, parent: r.target.parent, created: r.target.created},
    base: r.base,
    expected: r.expected,
    force: r.force,
  })
  // Worked out while the other side stages the stream; again if it resumes elsewhere than it said it would.
  const planFrom = (resumeFrom: number) =>
    planStream(instance, {snapshot: r.target, base: r.base, branch: r.branch.name, resumeFrom}, resumeFrom === 0 ? r.walked : undefined)
  const planned = planFrom(r.resumeFrom)
  const ready = await session.receive(['ready'], `starting to send "${r.volume.name}/${r.branch.name}"`)
  const resumeFrom = field(ready, 'received', 'number')
  const plan = resumeFrom === r.resumeFrom ? planned : planFrom(resumeFrom)
  const progress = o.progress?.(`${r.volume.name}/${r.branch.name}`, plan.header.dataBytes)
  try {
    await sendStream(session, plan.header, instance.pool, plan.extents, progress, o.failpoint)
  } catch (error) {
    // The receiver stopped reading: its reason is the error to report.
    await session.receive(['received'], 'sending').catch((remote: unknown) => {
      throw remote instanceof FvmError ? remote : error
    })
    throw error
  }
  // Made while the receiver finishes (releasing the delta base a push to it superseded is the slow part).
  await commitOperationAfter(instance, r.record, o, () => session.receive(['received'], `sending "${r.volume.name}/${r.branch.name}"`))
  return {resumedFrom: resumeFrom, dataBytes: plan.header.dataBytes}
}

/** What a push would do, changing nothing on either side: an unsaved change is measured against the branch's base. */
function dryRun(
  instance: OpenInstance,
  volume: Volume,
  branch: Branch,
  view: RemoteView,
  resumable: ReturnType<typeof resumableTarget>,
  force: boolean,
): Omit<PushedBranch, 'branch' | 'remoteBranch' | 'bytesSent'> {
  const state = instance.catalog.committed().value
  const unchanged = unchangedSinceBase(instance, branch)
  const line = lineageOf(state, resumable?.snapshot.uuid ?? branch.base)
  const targetUuid = resumable?.snapshot.uuid ?? (unchanged ? branch.base : null)
  if (targetUuid !== null && view.head === targetUuid) return {action: 'up-to-date', snapshot: targetUuid, base: null, resumedFrom: 0, dataBytes: 0}
  const fastForward = view.head === null || line.includes(view.head)
  const action: PushAction = !fastForward && !force ? 'refused' : view.head === null ? 'new' : fastForward ? 'fast-forward' : 'forced'
  const base = resumable?.base ?? deltaBase(instance, line, view, fastForward)
  const resumeFrom = resumable?.received ?? 0
  const target = resumable?.snapshot.device ?? branch.device
  const baseDevice = base === null ? null : materialised(state, base).device
  // Counts only: nothing will be sent, so no extent is kept.
  const {dataBytes} = planExtents({pool: instance.pool, base: baseDevice, target, size: volume.size, resumeFrom}, 0).counts
  return {action, snapshot: targetUuid, base, resumedFrom: resumeFrom, dataBytes}
}
