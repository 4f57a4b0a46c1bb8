// Guest scripts for dm-thin tests: strict bash with the helpers of guest-lib.sh inlined,
// so a script does not depend on where the repository is visible inside the guest.
import {readFileSync} from 'node:fs'

const guestLib = readFileSync(new URL('guest-lib.sh', import.meta.url), 'utf8')

/** `body` as a complete script for runInKernelVm, with pool_up, thin_up, pool_msg, thin_snap, thin_sha256 and pool_down defined. */
export function dmScript(body: string): string {
  return `set -euo pipefail\n${guestLib}\n${body}\n`
}
