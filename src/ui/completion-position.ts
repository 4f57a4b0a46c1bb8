// Where the cursor is on an fvm command line, for tab completion: the command its
// leading words name, the arguments typed before the cursor (flags and their values
// skipped, using the command's flags from the manifest) and --home if the line has one.
import type {Config} from '@oclif/core/config'
import os from 'node:os'

export interface CompletionPosition {
  /** The command id, e.g. "branch:rm". */
  command: string
  /** The arguments before the cursor's word. */
  args: string[]
  /** What has been typed of the word under the cursor. */
  word: string
  /** Only command words come before the cursor, so a subcommand may go there too. */
  subcommand: boolean
  home?: string
}

/** `~` as the shell would expand it: completion sees the words as typed. */
function expandTilde(dir: string): string {
  return dir === '~' || dir.startsWith('~/') ? os.homedir() + dir.slice(1) : dir
}

/**
 * `words` are the words after "fvm" up to the cursor's. Undefined when they name no
 * command, or the cursor is on a flag or a flag's value.
 */
export function completionPosition(config: Config, words: string[]): CompletionPosition | undefined {
  const word = words.at(-1) ?? ''
  if (word.startsWith('-')) return undefined
  const typed = words.slice(0, -1)
  let depth = 0
  for (let i = 1; i <= typed.length; i++) if (config.findCommand(typed.slice(0, i).join(':'))) depth = i
  if (depth === 0) return undefined
  const command = typed.slice(0, depth).join(':')
  const flags = Object.values(config.findCommand(command)!.flags)
  const args: string[] = []
  let home: string | undefined
  for (let i = depth; i < typed.length; i++) {
    const w = typed[i]
    if (w === '--') {
      args.push(...typed.slice(i + 1))
      break
    }
    if (!w.startsWith('-') || w === '-') {
      args.push(w)
      continue
    }
    const long = w.startsWith('--')
    const [name, ...inline] = w.slice(long ? 2 : 1).split('=')
    const flag = flags.find((f) => (long ? f.name === name : f.char === name))
    if (flag?.type !== 'option') continue
    let value: string | undefined = inline.join('=')
    if (inline.length === 0) {
      // bash splits "--home=DIR" at the "=" into three words.
      i += typed[i + 1] === '=' ? 2 : 1
      if (i >= typed.length) return undefined
      value = typed[i]
    }
    if (flag.name === 'home') home = expandTilde(value)
  }
  return {command, args, word, subcommand: depth === typed.length, home}
}
