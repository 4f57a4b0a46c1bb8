// Runs one catalog transaction in a child process that a failpoint may SIGKILL:
// transaction-child.ts HOME STEP FAILPOINT (FAILPOINT may be "none").
import {failpointFromSpec} from '../../src/dm/pdata/failpoints.js'
import {createBranch} from '../../src/plumbing/catalog/ops-branches.js'
import {createTag} from '../../src/plumbing/catalog/ops-tags.js'
import {createVolume, removeVolume} from '../../src/plumbing/catalog/ops-volumes.js'
import {rollback} from '../../src/plumbing/catalog/ops-rollback.js'
import {mutate, type Operation} from '../../src/plumbing/transaction.js'
import {ALL_FAILPOINTS} from '../../src/ui/failpoint.js'

const [home, step, failpoint] = process.argv.slice(2)
const steps: Record<string, Operation<unknown>> = {
  create: (s, c) => createVolume(s, {name: 'data', size: 2 ** 20}, c),
  tag: (s, c) => createTag(s, {tag: 'v1@data'}, c),
  branch: (s, c) => createBranch(s, {branch: 'data/feature'}, c),
  rollback: (s, c) => rollback(s, {branch: 'data/trunk', tag: 'v1'}, c),
  rm: (s) => removeVolume(s, {name: 'data'}),
}
mutate({home, failpoint: failpoint === 'none' ? undefined : failpointFromSpec(failpoint, ALL_FAILPOINTS)}, steps[step])
