// Remotes: other instances under names people give them, kept in fvm.yaml as git keeps
// them in its config. Every change reads and rewrites fvm.yaml under the instance's
// lock (replacing it atomically), so two concurrent changes cannot lose one another.
import path from 'node:path'
import {FvmError} from '../errors.js'
import {deleteEntry, entry, setEntry} from './catalog/model.js'
import {type RemoteBranchSummary, listRemoteBranches} from './catalog/ops-lookups.js'
import {type InstanceConfig, type RemoteConfig, readConfig, writeRemotes} from './config.js'
import {POOL_DIR, configPath} from './home-layout.js'
import {withInstance} from './instance-open.js'
import {checkName} from './names.js'
import {lockPool} from './pool-lock.js'
import {type ParseAddressOptions, type RemoteAddress, formatRemoteAddress, parseRemoteAddress} from './transport/address.js'

export interface Remote {
  name: string
  /** Its address in canonical form. */
  url: string
  /** Its own instance name once a push or pull has met it; null before. */
  instance: string | null
}

export interface RemoteInfo extends Remote {
  address: RemoteAddress
  /** The remote branches held here from its instance; none while that is unknown. */
  remoteBranches: RemoteBranchSummary[]
}

export interface RemoteOptions {
  home: string
  name: string
}

export interface RemoteUrlOptions extends RemoteOptions, ParseAddressOptions {
  url: string
}

export interface SetUrlResult extends Remote {
  previousUrl: string
}

function describe(name: string, remote: RemoteConfig): Remote {
  return {name, url: remote.url, instance: remote.instance ?? null}
}

function known(remotes: Record<string, RemoteConfig>, name: string): RemoteConfig {
  const remote = entry(remotes, name)
  if (!remote) throw new FvmError('notFound', `remote "${name}" does not exist`, {hint: 'list the remotes with "fvm remote"'})
  return remote
}

function canonicalUrl(o: RemoteUrlOptions): string {
  return formatRemoteAddress(parseRemoteAddress(o.url, o))
}

/** Runs `edit` on the remotes under the instance's lock, then writes what it left. */
function editRemotes<R>(home: string, edit: (remotes: Record<string, RemoteConfig>, config: InstanceConfig) => R): R {
  // First without the lock: a missing instance is "not found", not a failed lock file.
  readConfig(home)
  const release = lockPool(path.join(home, POOL_DIR))
  try {
    const config = readConfig(home)
    const remotes = config.remotes ?? {}
    const result = edit(remotes, config)
    writeRemotes(home, remotes)
    return result
  } finally {
    release()
  }
}

export function listRemotes(o: {home: string}): Remote[] {
  const remotes = readConfig(o.home).remotes ?? {}
  return Object.keys(remotes).sort().map((name) => describe(name, entry(remotes, name)!))
}

/** Records a remote under a new name; its url is stored canonicalised. */
export function addRemote(o: RemoteUrlOptions): Remote {
  const name = checkName('remote', o.name)
  const url = canonicalUrl(o)
  return editRemotes(o.home, (remotes) => {
    const remote = entry(remotes, name)
    if (remote) {
      throw new FvmError('conflict', `remote "${name}" already exists`, {
        hint: `it is ${remote.url}: change that with "fvm remote set-url ${name} ADDRESS", or first "fvm remote rm ${name}"`,
      })
    }
    setEntry(remotes, name, {url})
    return describe(name, {url})
  })
}

/** Forgets a remote; what its instance sent (remote branches) stays. */
export function removeRemote(o: RemoteOptions): Remote {
  const name = checkName('remote', o.name)
  return editRemotes(o.home, (remotes) => {
    const removed = describe(name, known(remotes, name))
    deleteEntry(remotes, name)
    return removed
  })
}

export function renameRemote(o: RemoteOptions & {to: string}): {from: string; to: string} {
  const from = checkName('remote', o.name)
  const to = checkName('remote', o.to)
  return editRemotes(o.home, (remotes) => {
    const remote = known(remotes, from)
    if (entry(remotes, to)) throw new FvmError('conflict', `remote "${to}" already exists`, {hint: `choose another name, or first "fvm remote rm ${to}"`})
    deleteEntry(remotes, from)
    setEntry(remotes, to, remote)
    return {from, to}
  })
}

/**
 * Points a remote at a new address. A different address may be another instance, so
 * the instance name learnt from the old one is dropped; the next contact learns it.
 */
export function setRemoteUrl(o: RemoteUrlOptions): SetUrlResult {
  const name = checkName('remote', o.name)
  const url = canonicalUrl(o)
  return editRemotes(o.home, (remotes) => {
    const previous = known(remotes, name)
    const remote: RemoteConfig = url === previous.url ? previous : {url}
    setEntry(remotes, name, remote)
    return {...describe(name, remote), previousUrl: previous.url}
  })
}

/** Records the instance name a push or pull met at the remote. Takes the instance's lock: call it without holding that. */
export function setRemoteInstance(home: string, remote: string, instanceName: string): Remote {
  const name = checkName('remote', remote)
  const instance = checkName('instance', instanceName)
  return editRemotes(home, (remotes, config) => {
    if (instance === config.name) {
      throw new FvmError('usage', `remote "${name}" is instance "${instance}": that is this instance`, {hint: `point it elsewhere with "fvm remote set-url ${name} ADDRESS"`})
    }
    const updated = {...known(remotes, name), instance}
    setEntry(remotes, name, updated)
    return describe(name, updated)
  })
}

/** A remote with its parsed address and the remote branches its instance sent here. */
export function showRemote(o: RemoteOptions): RemoteInfo {
  const name = checkName('remote', o.name)
  return withInstance(o, ({config, catalog}) => {
    const remote = known(config.remotes ?? {}, name)
    const {instance} = remote
    const remoteBranches = instance === undefined ? [] : listRemoteBranches(catalog.committed().value).filter((b) => b.instance === instance)
    return {...describe(name, remote), address: storedAddress(o.home, name, remote.url), remoteBranches}
  })
}

/** A url from fvm.yaml; written by hand, a relative path there is relative to the home. */
function storedAddress(home: string, name: string, url: string): RemoteAddress {
  try {
    return parseRemoteAddress(url, {cwd: home})
  } catch (error) {
    throw new FvmError('corrupt', `"${configPath(home)}": remote "${name}": ${(error as Error).message}`, {
      hint: `fix it with "fvm remote set-url ${name} ADDRESS"`,
    })
  }
}
