// Colour only on a TTY, never with NO_COLOR (any value, per no-color.org) or TERM=dumb.
import {Chalk, type ChalkInstance} from 'chalk'

export function wantsColor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if ('NO_COLOR' in env) return false
  if (env.TERM === 'dumb') return false
  return stream.isTTY === true
}

const cache = new Map<NodeJS.WriteStream, ChalkInstance>()

/** A chalk instance that colours only when the given stream should be coloured. */
export function colorFor(stream: NodeJS.WriteStream): ChalkInstance {
  let chalk = cache.get(stream)
  if (!chalk) {
    chalk = new Chalk({level: wantsColor(stream) ? 1 : 0})
    cache.set(stream, chalk)
  }
  return chalk
}
