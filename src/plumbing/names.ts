// The one name grammar, checked at every entry point (CLI, plumbing, incoming stream).
// Names never become file paths; the grammar still keeps them safe in any shell or path.
import {FvmError} from '../errors.js'

export type NameKind = 'instance' | 'volume' | 'branch' | 'tag' | 'remote'

export const MAX_NAME_LENGTH = 128

const ALLOWED = /^[A-Za-z0-9_.-]+$/

/** Why `value` is not a valid name, or undefined when it is. */
export function nameProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty'
  if (value.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters (got ${value.length})`
  if (value.includes('/')) return 'must not contain "/"'
  if (!ALLOWED.test(value)) return 'may contain only letters, digits, "_", "." and "-"'
  if (value.startsWith('.') || value.startsWith('-')) return `must not start with "${value[0]}"`
  if (value.includes('..')) return 'must not contain ".."'
  return undefined
}

/** Returns `value` when it is a valid name of the given kind; throws a usage error otherwise. */
export function checkName(kind: NameKind, value: string): string {
  const problem = nameProblem(value)
  if (problem) throw new FvmError('usage', `invalid ${kind} name "${printable(value)}": ${problem}`)
  return value
}

/** A name as it may be shown in a message: control characters escaped, length bounded. */
export function printable(value: string): string {
  // eslint-disable-next-line no-control-regex
  const escaped = value.replace(/[\u0000-\u001F\u007F"\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
  return escaped.length > 60 ? `${escaped.slice(0, 57)}...` : escaped
}
