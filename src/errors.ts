// One table of exit codes for every command, and the error type every layer throws.
// Lives below all layers so src/dm, src/plumbing and src/commands can share it.

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  conflict: 4,
  corrupt: 5,
  noSpace: 6,
  remote: 7,
  aborted: 8,
} as const

export type ExitCodeName = keyof typeof ExitCode

/** What each exit code means, for --help, man pages and the README. */
export const exitCodeMeanings: Record<ExitCodeName, string> = {
  ok: 'success',
  failure: 'failure not covered below (I/O error, bug)',
  usage: 'bad usage: unknown flag, bad argument, invalid name or size, missing answer without a terminal',
  notFound: 'not found: no such instance, pool, volume, branch, tag, device or remote',
  conflict: 'conflict: already exists, compare-and-swap lost, not a fast-forward, busy',
  corrupt: 'corrupt: damaged metadata or stream, checksum mismatch, pool needs a check',
  noSpace: 'out of space: pool data or metadata full, quota exceeded',
  remote: 'remote or transport failure',
  aborted: 'aborted: a confirmation was declined or the operation was interrupted',
}

export interface FvmErrorOptions {
  hint?: string
  cause?: unknown
}

/**
 * An expected failure with a git-style message (lowercase, subject in quotes, what
 * failed first) and an exit code from the table above.
 */
export class FvmError extends Error {
  readonly kind: ExitCodeName
  readonly hint?: string

  constructor(kind: ExitCodeName, message: string, options: FvmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = 'FvmError'
    this.kind = kind
    this.hint = options.hint
  }

  get exitCode(): number {
    return ExitCode[this.kind]
  }
}

export function isFvmError(err: unknown): err is FvmError {
  return err instanceof FvmError
}
