// Named failpoints in the commit path, so tests can kill the process at every step of
// the protocol. The engine gets a Failpoint through its options and never reads the
// environment; the CLI turns FVM_FAILPOINT into one with failpointFromSpec.
import {FvmError} from '../../errors.js'

export const FAILPOINT_NAMES = [
  'commit.afterDataSync',
  'commit.afterMetadataWrite',
  'commit.afterMetadataSync',
  'commit.afterSuperblockWrite',
] as const

export type FailpointName = (typeof FAILPOINT_NAMES)[number]

export type Failpoint = (name: FailpointName) => void

export const noFailpoint: Failpoint = () => {}

/**
 * Parses `name` or `name:N` (fire on the Nth hit, default the first), for any of the
 * names given (the engine's by default; callers add those of the layers above). Firing
 * sends SIGKILL to this process: the closest a test can get to pulling the plug.
 */
export function failpointFromSpec(spec: string, names: readonly string[] = FAILPOINT_NAMES): (name: string) => void {
  const match = /^([A-Za-z.]+)(?::(\d+))?$/.exec(spec.trim())
  if (!match || !names.includes(match[1])) {
    throw new FvmError('usage', `bad failpoint "${spec}": expected one of ${names.join(', ')}, optionally with :N`)
  }
  const target = match[1]
  const fireOn = match[2] === undefined ? 1 : Number(match[2])
  if (fireOn < 1) throw new FvmError('usage', `bad failpoint "${spec}": N must be at least 1`)
  let hits = 0
  return (name) => {
    if (name !== target) return
    hits++
    if (hits === fireOn) process.kill(process.pid, 'SIGKILL')
  }
}
