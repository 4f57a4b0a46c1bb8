// `fvm fetch` and `fvm pull`: the push protocol the other way round. The other side
// freezes the branch and tells its lineage; we pick the newest snapshot of it we have,
// stage and receive the delta as the remote branch HOST/VOLUME/BRANCH (resuming a
// stream an earlier attempt staged), and tell the sender what we now hold. A pull then
// fast-forwards the local branch of the same name, if nothing was written to it since
// its base; a missing one is made from the remote branch.
import {FvmError} from '../../errors.js'
import {TRUNK, entry} from '../catalog/model.js'
import {createBranch} from '../catalog/ops-branches.js'
import {type ReceiveRequest, descendsFrom, remoteHead} from '../catalog/ops-receive.js'
import {fastForwardBranch} from '../catalog/ops-remote.js'
import {materialised, parseIn} from '../catalog/ops-shared.js'
import {type InstanceContext, type OpenInstance, withInstanceAsync} from '../instance-open.js'
import {checkName} from '../names.js'
import {parseRef} from '../refs.js'
import {setRemoteInstance} from '../remotes.js'
import {commitOperation} from '../transaction.js'
import type {ConnectOptions} from '../transport/connect.js'
import {type Peer, withConnection, withPeer} from './client.js'
import {commonBase, unchangedSinceBase} from './negotiate.js'
import {type ReceiveProgress, applyStream, stageReceive} from './receive.js'
import {type Message, field} from './session.js'

export type FetchAction = 'new' | 'fast-forward' | 'forced' | 'up-to-date' | 'refused'
export type LocalAction = 'created' | 'fast-forward' | 'up-to-date' | 'diverged'

export interface PulledBranch {
  /** VOLUME/BRANCH on the other side. */
  branch: string
  remoteBranch: string
  action: FetchAction
  snapshot: string
  base: string | null
  resumedFrom: number
  /** Volume data received. */
  dataBytes: number
  /** For a pull: what happened to the local branch of the same name. */
  local?: {branch: string; action: LocalAction}
  reason?: string
}

export interface PullResult {
  remote: string
  instance: string
  branches: PulledBranch[]
  bytesReceived: number
  bytesSent: number
}

export interface PullOptions extends InstanceContext, ConnectOptions {
  /** VOLUME (its trunk) or VOLUME/BRANCH, as the other side names them. */
  refs: string[]
  force: boolean
  /** Also move the local branch (pull); without it only the remote branch (fetch). */
  merge: boolean
  /** The volume's name here, when it is new here. */
  as?: string
  progress?: (branch: string, total: number) => ReceiveProgress
}

/** VOLUME (its trunk) or VOLUME/BRANCH, as the other side names them: the one reference grammar. */
function wantedBranch(text: string): {volume: string; branch: string} {
  const ref = parseRef(text, {accept: ['volume', 'branch']})
  return {volume: ref.volume, branch: ref.kind === 'branch' ? ref.branch : TRUNK}
}

export async function pull(o: PullOptions): Promise<PullResult> {
  if (o.refs.length === 0) throw new FvmError('usage', 'name what to fetch: VOLUME or VOLUME/BRANCH', {hint: 'e.g. fvm pull beta mydata/trunk'})
  const refs = o.refs.map(wantedBranch)
  const as = o.as === undefined ? undefined : checkName('volume', o.as)
  if (as !== undefined && new Set(refs.map((r) => r.volume)).size > 1) throw new FvmError('usage', '--as names one volume, but more than one is asked for')
  const result = await withConnection(o, (dialled) =>
    withInstanceAsync(o, (instance) =>
      withPeer(instance, dialled, async (peer) => {
        const branches: PulledBranch[] = []
        for (const ref of refs) branches.push(await fetchBranch(instance, peer, ref, o, as))
        const {session} = peer
        return {remote: peer.remote ?? o.remote, instance: peer.name, branches, bytesReceived: session.bytesReceived, bytesSent: session.bytesSent, peer: peer.remote}
      }),
    ),
  )
  const {peer, ...pullResult} = result
  if (peer !== null) setRemoteInstance(o.home, peer, pullResult.instance)
  return pullResult
}

interface Offer {
  volume: {uuid: string; name: string; size: number}
  snapshot: ReceiveRequest['snapshot']
  lineage: string[]
}

function offerOf(message: Message): Offer {
  const volume = field(message, 'volume', 'object') as Message
  const snapshot = field(message, 'snapshot', 'object') as Message
  const lineage = message.lineage
  if (!Array.isArray(lineage) || lineage.some((u) => typeof u !== 'string')) throw new FvmError('corrupt', 'message "branch": field "lineage" is not a list')
  return {
    volume: {uuid: field(volume, 'uuid', 'string'), name: field(volume, 'name', 'string'), size: field(volume, 'size', 'number')},
    snapshot: {uuid: field(snapshot, 'uuid', 'string'), parent: field(snapshot, 'parent', 'string', {nullable: true}), created: field(snapshot, 'created', 'string')},
    lineage: lineage as string[],
  }
}

async function fetchBranch(instance: OpenInstance, peer: Peer, ref: {volume: string; branch: string}, o: PullOptions, as: string | undefined): Promise<PulledBranch> {
  const {session} = peer
  await session.send({op: 'describe', volume: ref.volume, branch: ref.branch})
  const offer = offerOf(await session.receive(['branch'], `asking for "${ref.volume}/${ref.branch}"`))
  const state = instance.catalog.committed().value
  const localVolume = entry(state.volumes, offer.volume.uuid)
  const localName = localVolume?.name ?? as ?? offer.volume.name
  const remoteBranch = `${peer.name}/${localName}/${ref.branch}`
  const head = remoteHead(state, {instance: peer.name, volume: offer.volume.uuid, branch: ref.branch})
  const outcome = (fields: Omit<PulledBranch, 'branch' | 'remoteBranch' | 'snapshot'>): PulledBranch => ({
    branch: `${ref.volume}/${ref.branch}`,
    remoteBranch,
    snapshot: offer.snapshot.uuid,
    ...fields,
  })
  let fetched: PulledBranch
  if (head === offer.snapshot.uuid) fetched = outcome({action: 'up-to-date', base: null, resumedFrom: 0, dataBytes: 0})
  else {
    const fastForward = head === null || offer.lineage.includes(head)
    if (!fastForward && !o.force) {
      return outcome({action: 'refused', base: null, resumedFrom: 0, dataBytes: 0, reason: `"${remoteBranch}" here has a head not in the line of "${ref.volume}/${ref.branch}" there (not a fast-forward)`})
    }
    const base = fastForward && head !== null ? head : commonBase(state, offer.lineage, new Set(offer.lineage))
    const request: ReceiveRequest = {
      instance: peer.name,
      volume: {...offer.volume, name: localName},
      branch: ref.branch,
      snapshot: offer.snapshot,
      base,
      expected: head,
      force: o.force,
    }
    const staged = stageReceive(instance, request, o)
    await session.send({op: 'send', snapshot: offer.snapshot.uuid, base, branch: ref.branch, resumeFrom: staged.received})
    const label = `${ref.volume}/${ref.branch}`
    const progress = o.progress && ((total: number) => o.progress!(label, total))
    const applied = await applyStream(session.reader, {instance, ctx: o, request, staged, progress})
    await session.send({op: 'sent', branch: `${ref.volume}/${ref.branch}`, instance: instance.config.name, snapshot: offer.snapshot.uuid})
    await session.receive(['ok'], 'finishing')
    const action: FetchAction = head === null ? 'new' : fastForward ? 'fast-forward' : 'forced'
    fetched = outcome({action, base, resumedFrom: staged.received, dataBytes: applied.dataBytes})
  }
  return o.merge ? {...fetched, local: updateLocalBranch(instance, `${localName}/${ref.branch}`, remoteBranch, o)} : fetched
}

/** Brings the local branch to the fetched head: made if missing, moved if it has not changed since its base. */
function updateLocalBranch(instance: OpenInstance, branchRef: string, remoteBranch: string, ctx: InstanceContext): {branch: string; action: LocalAction} {
  const state = instance.catalog.committed().value
  const ref = parseIn(state, branchRef, ['branch'])
  const volume = Object.values(state.volumes).find((v) => v.name === ref.volume)!
  const branch = entry(volume.branches, ref.branch)
  const head = materialised(state, entry(entry(volume.remoteBranches, remoteBranch.split('/')[0]) ?? {}, ref.branch)!)
  if (!branch) {
    commitOperation(instance, (s, c) => createBranch(s, {branch: branchRef, from: remoteBranch}, c), ctx)
    return {branch: branchRef, action: 'created'}
  }
  const unchanged = unchangedSinceBase(instance, branch)
  if (branch.base === head.uuid && unchanged) return {branch: branchRef, action: 'up-to-date'}
  if (branch.base === null || !descendsFrom(state, head.uuid, branch.base) || !unchanged) {
    return {branch: branchRef, action: 'diverged'}
  }
  commitOperation(instance, (s, c) => fastForwardBranch(s, {branch: branchRef, to: head.uuid}, c), ctx)
  return {branch: branchRef, action: 'fast-forward'}
}
