// Root hooks: after the whole run, list every group that was skipped for a missing
// tool, loudly, so a green run with skips is never mistaken for a full one.
import {skippedGroups} from './tools.js'

export const mochaHooks = {
  afterAll(): void {
    if (skippedGroups.size === 0) return
    const lines = [...skippedGroups].map(([group, tools]) => `  - ${group}: missing ${tools.join(', ')}`)
    process.stderr.write(`\n!!! SKIPPED ${skippedGroups.size} test group(s) for missing tools:\n${lines.join('\n')}\n` +
      '!!! run `bash scripts/install-system-tools.sh` as root on Debian to run them\n\n')
  },
}
