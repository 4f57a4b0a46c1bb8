// The names tab completion offers, read from fvm.yaml (remotes) and the committed catalog without the pool's
// lock and without writing: completion must neither wait for a running command nor
// change an instance (no recovery, no finishing an interrupted init). A change committed
// meanwhile can make the read fail; completion then offers nothing.
import path from 'node:path'
import type {CatalogState} from '../catalog/model.js'
import {listBranches, listRemoteBranches, listTags, listVolumes} from '../catalog/ops-lookups.js'
import {CatalogStore} from '../catalog/store.js'
import {readConfig} from '../config.js'
import {POOL_DIR} from '../home-layout.js'
import {CATALOG_FILE, type InstanceContext} from '../instance-open.js'

export interface PoolNames {
  volumes: string[]
  /** VOLUME/BRANCH */
  branches: string[]
  /** TAG@VOLUME */
  tags: string[]
  /** HOST/VOLUME/BRANCH */
  remoteBranches: string[]
  /** Configured remotes (fvm.yaml). */
  remotes: string[]
}

export function completionNames(o: Omit<InstanceContext, 'failpoint'>): PoolNames {
  const state = CatalogStore.readCommitted<CatalogState>(path.join(o.home, POOL_DIR, CATALOG_FILE), {fs: o.fs}).value
  return {
    volumes: listVolumes(state).map((v) => v.name),
    branches: listBranches(state).map((b) => b.branch),
    tags: listTags(state).map((t) => t.tag),
    remoteBranches: listRemoteBranches(state).map((r) => r.remoteBranch),
    remotes: Object.keys(readConfig(o.home).remotes ?? {}).sort(),
  }
}
