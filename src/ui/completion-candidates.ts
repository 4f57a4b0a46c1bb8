// What tab completion offers at a command's argument: names from the pool (volumes,
// VOLUME/BRANCH, TAG@VOLUME), and the subcommands that may go there instead; those
// starting with what has been typed, sorted.
import type {Config} from '@oclif/core/config'
import type {PoolNames} from '../plumbing/porcelain/completion-names.js'
import type {CompletionPosition} from './completion-position.js'

type Offer = (names: PoolNames, position: CompletionPosition) => string[]

const volumes: Offer = (n) => n.volumes
const branches: Offer = (n) => n.branches
const tags: Offer = (n) => n.tags
const refs: Offer = (n) => [...n.volumes, ...n.branches, ...n.tags, ...n.remoteBranches]
/** What can be read: branches, tags, remote branches. */
const readable: Offer = (n) => [...n.branches, ...n.tags, ...n.remoteBranches]
const remotes: Offer = (n) => n.remotes
/** What push sends: volumes (all their branches) or branches. */
const sendable: Offer = (n) => [...n.volumes, ...n.branches]
/** The volume of a branch to create: "mydata/", then the new name is the user's. */
const newBranch: Offer = (n) => n.volumes.map((v) => `${v}/`)
/** The volume of a tag to create, once "TAG@" is typed. */
const newTag: Offer = (n, {word}) => (word.includes('@') ? n.volumes.map((v) => `${word.split('@')[0]}@${v}`) : [])
/** Rollback's tag: one of the branch's volume, bare as the command takes it. */
const tagOfBranch: Offer = (n, {args}) => {
  const suffix = `@${args[0].split('/')[0]}`
  return n.tags.filter((t) => t.endsWith(suffix)).map((t) => t.slice(0, -suffix.length))
}

/** What each positional argument of a command takes. */
const ARGUMENTS: Record<string, Offer[]> = {
  'volume:info': [volumes],
  'volume:inspect': [volumes],
  'volume:rm': [volumes],
  branch: [newBranch],
  'branch:rm': [branches],
  'branch:rename': [branches],
  tag: [newTag],
  'tag:rm': [tags],
  rollback: [branches, tagOfBranch],
  log: [refs],
  diff: [readable, readable],
  'volume:import': [branches],
  'volume:export': [readable],
  push: [remotes, sendable],
  fetch: [remotes],
  pull: [remotes],
  'remote:rm': [remotes],
  'remote:rename': [remotes],
  'remote:set-url': [remotes],
  'remote:show': [remotes],
}

/** The completions at `position`; `names` is read only where an argument takes names. */
export function completions(config: Config, position: CompletionPosition, names: () => PoolNames): string[] {
  const {command, args, word, subcommand} = position
  const depth = command.split(':').length
  const children = subcommand
    ? config.commands.filter((c) => !c.hidden && c.id.startsWith(`${command}:`) && c.id.split(':').length === depth + 1).map((c) => c.id.split(':')[depth])
    : []
  const offer = ARGUMENTS[command]?.[args.length]
  const found = [...children, ...(offer ? offer(names(), position) : [])].filter((c) => c.startsWith(word))
  return [...new Set(found)].sort()
}
