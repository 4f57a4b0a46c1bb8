// References as people write them. One parser for every form, so every command accepts
// the same spellings and refuses bad ones with the same precise errors:
//
//   VOLUME               mydata
//   VOLUME/BRANCH        mydata/trunk        a branch of this instance
//   HOST/VOLUME/BRANCH   beta/mydata/trunk   a remote branch; HOST = this instance: local
//   TAG@VOLUME           v1@mydata
//   TAG                  v1                  only where the volume is known (rollback's TAG)
//
// Parsing is syntax only; whether the thing exists is the catalog's question.
import {FvmError} from '../errors.js'
import {type NameKind, nameProblem, printable} from './names.js'

export type Ref =
  | {kind: 'volume'; volume: string}
  | {kind: 'branch'; volume: string; branch: string}
  | {kind: 'remote-branch'; instance: string; volume: string; branch: string}
  | {kind: 'tag'; volume: string; tag: string}

export type RefKind = Ref['kind']

export interface RefContext<K extends RefKind = RefKind> {
  /** The forms this argument takes; any other form is a usage error saying what was expected. */
  accept: readonly K[]
  /** This instance's name: HOST/VOLUME/BRANCH with it is a local branch. */
  instance?: string
  /** The volume a bare TAG belongs to; without it a bare name can only be a volume. */
  volume?: string
}

const FORMS: Record<RefKind, string> = {
  volume: 'a volume (VOLUME)',
  branch: 'a branch (VOLUME/BRANCH)',
  'remote-branch': 'a remote branch (HOST/VOLUME/BRANCH)',
  tag: 'a tag (TAG@VOLUME)',
}

export function formatRef(ref: Ref): string {
  switch (ref.kind) {
    case 'volume':
      return ref.volume
    case 'branch':
      return `${ref.volume}/${ref.branch}`
    case 'remote-branch':
      return `${ref.instance}/${ref.volume}/${ref.branch}`
    case 'tag':
      return `${ref.tag}@${ref.volume}`
  }
}

/** Parses `text` as one of the forms `context.accept` allows; throws a usage error naming the bad part. */
export function parseRef<K extends RefKind>(text: string, context: RefContext<K>): Extract<Ref, {kind: K}> {
  const ref = parseAnyRef(text, context)
  if (!isAccepted(ref, context.accept)) {
    throw new FvmError('usage', `invalid reference "${printable(text)}": expected ${expected(context.accept)}, not ${FORMS[ref.kind]}`)
  }
  return ref
}

function isAccepted<K extends RefKind>(ref: Ref, accept: readonly K[]): ref is Extract<Ref, {kind: K}> {
  return (accept as readonly RefKind[]).includes(ref.kind)
}

function parseAnyRef(text: string, context: RefContext): Ref {
  if (text.length === 0) throw badRef(text, 'it is empty', context)
  const at = text.split('@')
  if (at.length > 2) throw badRef(text, 'more than one "@"', context)
  if (at.length === 2) {
    const [tag, volume] = at
    return {kind: 'tag', tag: part('tag', tag, text), volume: part('volume', volume, text)}
  }
  const parts = text.split('/')
  switch (parts.length) {
    case 1:
      return bareName(text, context)
    case 2:
      return {kind: 'branch', volume: part('volume', parts[0], text), branch: part('branch', parts[1], text)}
    case 3: {
      const instance = part('instance', parts[0], text)
      const volume = part('volume', parts[1], text)
      const branch = part('branch', parts[2], text)
      return instance === context.instance ? {kind: 'branch', volume, branch} : {kind: 'remote-branch', instance, volume, branch}
    }
    default:
      throw badRef(text, `${parts.length - 1} "/" where at most 2 fit (HOST/VOLUME/BRANCH)`, context)
  }
}

/** A name alone is a volume where volumes are taken, else a tag of the volume the context names. */
function bareName(text: string, context: RefContext): Ref {
  if (context.accept.includes('volume')) return {kind: 'volume', volume: part('volume', text, text)}
  if (context.accept.includes('tag') && context.volume !== undefined) {
    return {kind: 'tag', tag: part('tag', text, text), volume: context.volume}
  }
  throw new FvmError('usage', `invalid reference "${printable(text)}": expected ${expected(context.accept)}`)
}

function part(kind: NameKind, value: string, text: string): string {
  const problem = nameProblem(value)
  if (problem) throw new FvmError('usage', `invalid ${kind} name "${printable(value)}" in "${printable(text)}": ${problem}`)
  return value
}

function badRef(text: string, why: string, context: RefContext): FvmError {
  return new FvmError('usage', `invalid reference "${printable(text)}": ${why}`, {hint: `expected ${expected(context.accept)}`})
}

function expected(kinds: readonly RefKind[]): string {
  const forms = kinds.map((kind) => FORMS[kind])
  return forms.length <= 1 ? forms.join('') : `${forms.slice(0, -1).join(', ')} or ${forms.at(-1)}`
}
