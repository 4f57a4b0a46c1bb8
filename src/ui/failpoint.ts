// FVM_FAILPOINT (`name` or `name:N`) names a crash point in any layer, for crash tests;
// read here, in the command layer, and passed down. The layers' name lists load only
// when it is set, so ordinary runs pay nothing for it.
export async function failpointFromEnv(): Promise<((name: string) => void) | undefined> {
  const spec = process.env.FVM_FAILPOINT
  if (!spec) return undefined
  const [{FAILPOINT_NAMES, failpointFromSpec}, {CATALOG_FAILPOINTS}, {TRANSACTION_FAILPOINTS}, {TRANSFER_FAILPOINTS}] = await Promise.all([
    import('../dm/pdata/failpoints.js'),
    import('../plumbing/catalog/store.js'),
    import('../plumbing/transaction.js'),
    import('../plumbing/replicate/send.js'),
  ])
  return failpointFromSpec(spec, [...FAILPOINT_NAMES, ...CATALOG_FAILPOINTS, ...TRANSACTION_FAILPOINTS, ...TRANSFER_FAILPOINTS])
}
