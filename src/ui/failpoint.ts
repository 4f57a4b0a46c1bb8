// FVM_FAILPOINT (`name` or `name:N`) names a crash point in any layer, for crash tests;
// read here, in the command layer, and passed down.
import {FAILPOINT_NAMES, failpointFromSpec} from '../dm/pdata/failpoints.js'
import {CATALOG_FAILPOINTS} from '../plumbing/catalog/store.js'
import {TRANSACTION_FAILPOINTS} from '../plumbing/transaction.js'

export const ALL_FAILPOINTS = [...FAILPOINT_NAMES, ...CATALOG_FAILPOINTS, ...TRANSACTION_FAILPOINTS]

export function failpointFromEnv(): ((name: string) => void) | undefined {
  const spec = process.env.FVM_FAILPOINT
  return spec ? failpointFromSpec(spec, ALL_FAILPOINTS) : undefined
}
