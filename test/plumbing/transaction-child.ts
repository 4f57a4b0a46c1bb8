// Runs one catalog transaction in a child process that a failpoint may SIGKILL:
// transaction-child.ts HOME STEP FAILPOINT (FAILPOINT may be "none").
import {FAILPOINT_NAMES, failpointFromSpec} from '../../src/dm/pdata/failpoints.js'
import {createBranch} from '../../src/plumbing/catalog/ops-branches.js'
import {createTag} from '../../src/plumbing/catalog/ops-tags.js'
import {createVolume, removeVolume} from '../../src/plumbing/catalog/ops-volumes.js'
import {rollback} from '../../src/plumbing/catalog/ops-rollback.js'
import {CATALOG_FAILPOINTS} from '../../src/plumbing/catalog/store.js'
import {mutate, type Operation, TRANSACTION_FAILPOINTS} from '../../src/plumbing/transaction.js'

const [home, step, failpoint] = process.argv.slice(2)
const steps: Record<string, Operation<unknown>> = {
  create: (s, c) => createVolume(s, {name: 'data', size: 2 ** 20}, c),
  tag: (s, c) => createTag(s, {tag: 'v1@data'}, c),
  branch: (s, c) => createBranch(s, {branch: 'data/feature'}, c),
  rollback: (s, c) => rollback(s, {branch: 'data/trunk', tag: 'v1'}, c),
  rm: (s) => removeVolume(s, {name: 'data'}),
}
mutate({home, failpoint: failpoint === 'none' ? undefined : failpointFromSpec(failpoint, [...FAILPOINT_NAMES, ...CATALOG_FAILPOINTS, ...TRANSACTION_FAILPOINTS])}, steps[step])
