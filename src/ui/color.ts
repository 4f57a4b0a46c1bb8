// Colour only on a TTY, never with NO_COLOR (any value, per no-color.org) or TERM=dumb.
// chalk loads on first use: most runs print nothing coloured.
import type {ChalkInstance} from 'chalk'

export function wantsColor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if ('NO_COLOR' in env) return false
  if (env.TERM === 'dumb') return false
  return stream.isTTY === true
}

const cache = new Map<NodeJS.WriteStream, ChalkInstance>()

/** A chalk instance that colours only when the given stream should be coloured. */
export async function colorFor(stream: NodeJS.WriteStream): Promise<ChalkInstance> {
  let chalk = cache.get(stream)
  if (!chalk) {
    const {Chalk} = await import('chalk')
    chalk = new Chalk({level: wantsColor(stream) ? 1 : 0})
    cache.set(stream, chalk)
  }
  return chalk
}
