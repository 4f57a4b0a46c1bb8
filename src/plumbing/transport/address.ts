// Where another instance is, written as git writes remotes: an ssh URL, scp-like
// [user@]host:path, a bare host name, a file:// URL, or a path to its home. Every part
// that reaches ssh's command line is checked strictly, so none can pass for an option
// (a host "-oProxyCommand=..." runs a command) and none can break the line in two.
//
// The grammar, tried in this order:
//   ssh://[user@]host[:port][/path]   path after the first "/"; "/~/x" is x in the remote
//                                     user's home; "/~user/x" is refused
//   file:///path                      a local instance; percent-escapes decoded
//   a path: "/x", "./x", "../x", ".", "..", "~", "~/x", or anything with a "/" before
//   its first ":"                     a local instance; relative to cwd; "~" needs userHome
//   [user@]host:path                  ssh (a ":" before any "/"); a relative path, or one
//                                     after "~/", is in the remote user's home
//   [user@]host                       ssh, the remote fvm's default home
// Hosts may be IPv6 addresses in brackets ("[::1]", "ssh://[::1]:2222/x").
import {isIPv6} from 'node:net'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {FvmError, isFvmError} from '../../errors.js'
import {printable} from '../names.js'

export interface SshAddress {
  kind: 'ssh'
  /** A host name or ~/.ssh/config alias, or an IPv6 address (no brackets). */
  host: string
  user?: string
  port?: number
  /**
   * The remote instance's home: absolute, or relative to the remote login directory
   * (where sshd starts the command: the user's home). Absent: the remote fvm's default.
   */
  home?: string
}

export interface LocalAddress {
  kind: 'local'
  /** Absolute and normalized. */
  home: string
}

export type RemoteAddress = SshAddress | LocalAddress

export interface ParseAddressOptions {
  /** What a relative local path is relative to. */
  cwd: string
  /** What "~" in a local path stands for; without it such paths are refused. */
  userHome?: string
}

/** The accepted forms, for hints and help. */
export const ADDRESS_FORMS = 'ssh://[user@]host[:port][/path], [user@]host:path, a host name, file:///path, or a path such as ./other'
const HOST = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
const MAX_HOST_LENGTH = 253
const USER = /^[A-Za-z_][A-Za-z0-9_.-]*$/
const MAX_USER_LENGTH = 64
const PORT = /^[1-9][0-9]{0,4}$/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F]/

type Fail = (problem: string) => never

export function parseRemoteAddress(text: string, options: ParseAddressOptions): RemoteAddress {
  const fail: Fail = (problem) => {
    throw new FvmError('usage', `invalid remote address "${printable(text)}": ${problem}`, {hint: `use ${ADDRESS_FORMS}`})
  }
  if (text === '') return fail('must not be empty')
  if (CONTROL.test(text)) return fail('must not contain control characters')
  if (text.startsWith('-')) return fail('must not start with "-"')
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)
  if (scheme) {
    const name = scheme[1].toLowerCase()
    if (name === 'ssh') return parseSshUrl(text.slice(scheme[0].length), fail)
    if (name === 'file') return {kind: 'local', home: checkedHome(fileHome(text, fail), fail)}
    return fail(`unsupported transport "${printable(scheme[1])}"`)
  }
  // scp-like for a host "file", but almost surely a file URL missing its slashes.
  if (/^file:/i.test(text)) return fail('a file URL needs three slashes: file:///path')
  const colon = text.indexOf(':')
  const slash = text.indexOf('/')
  const isPath = ['.', '..', '~'].includes(text) || (slash >= 0 && (colon < 0 || slash < colon))
  if (isPath) return {kind: 'local', home: checkedHome(localHome(text, options, fail), fail)}
  return parseScpLike(text, fail)
}

/** Why `text` is not a remote address, or undefined when it is. */
export function addressProblem(text: string, options: ParseAddressOptions): string | undefined {
  try {
    parseRemoteAddress(text, options)
    return undefined
  } catch (error) {
    if (isFvmError(error)) return error.message
    throw error
  }
}

function fileHome(text: string, fail: Fail): string {
  try {
    return fileURLToPath(text)
  } catch (error) {
    return fail(`not a local file URL (${(error as Error).message}): use file:///path`)
  }
}

function localHome(text: string, options: ParseAddressOptions, fail: Fail): string {
  if (!text.startsWith('~')) return path.resolve(options.cwd, text)
  if (text !== '~' && !text.startsWith('~/')) return fail(`"${printable(text.split('/')[0])}" (another user's home) is not supported: give the full path`)
  if (options.userHome === undefined) return fail('"~" cannot be expanded here: give the full path')
  return path.resolve(options.userHome, `.${text.slice(1)}`)
}

/** `ssh://` already taken off: [user@]host[:port][/path]. */
function parseSshUrl(rest: string, fail: Fail): SshAddress {
  const slash = rest.indexOf('/')
  const authority = slash < 0 ? rest : rest.slice(0, slash)
  const at = authority.indexOf('@')
  const user = at < 0 ? undefined : checkedUser(authority.slice(0, at), fail)
  const {host, after} = splitHost(authority.slice(at + 1), fail)
  let port: number | undefined
  if (after !== '') {
    if (!after.startsWith(':')) return fail(`unexpected "${printable(after)}" after host "${printable(host)}"`)
    port = checkedPort(after.slice(1), fail)
  }
  const urlPath = slash < 0 ? '' : rest.slice(slash)
  const home = urlPath === '' ? undefined : sshHome(urlPath.startsWith('/~') ? urlPath.slice(1) : urlPath, fail)
  return address({host, user, port, home})
}

/** [user@]host[:path], the host maybe in brackets; no path: the default home. */
function parseScpLike(text: string, fail: Fail): SshAddress {
  const at = /^([^@:/[\]]*)@/.exec(text)
  const user = at ? checkedUser(at[1], fail) : undefined
  const {host, after} = splitHost(text.slice(at ? at[0].length : 0), fail)
  if (after !== '' && !after.startsWith(':')) return fail(`unexpected "${printable(after)}" after host "${printable(host)}"`)
  const home = after.length <= 1 ? undefined : sshHome(after.slice(1), fail)
  return address({host, user, home})
}

function address(parts: Omit<SshAddress, 'kind'>): SshAddress {
  const out: SshAddress = {kind: 'ssh', host: parts.host}
  if (parts.user !== undefined) out.user = parts.user
  if (parts.port !== undefined) out.port = parts.port
  if (parts.home !== undefined) out.home = parts.home
  return out
}

/** The host at the start of `text` (bracketed IPv6, or a name up to ":"), and what follows it. */
function splitHost(text: string, fail: Fail): {host: string; after: string} {
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    const host = close < 0 ? '' : text.slice(1, close)
    if (!isIPv6(host)) return fail(`"${printable(text.slice(0, close + 1) || text)}" is not an IPv6 address in brackets`)
    return {host, after: text.slice(close + 1)}
  }
  const colon = text.indexOf(':')
  const host = colon < 0 ? text : text.slice(0, colon)
  if (host === '') return fail('the host name is missing')
  if (host.length > MAX_HOST_LENGTH) return fail(`host name must be at most ${MAX_HOST_LENGTH} characters`)
  if (!HOST.test(host)) {
    return fail(`invalid host name "${printable(host)}": it may contain only letters, digits, "-", "_" and ".", and must start with a letter or digit`)
  }
  return {host, after: colon < 0 ? '' : text.slice(colon)}
}

function checkedUser(user: string, fail: Fail): string {
  if (user.length > MAX_USER_LENGTH || !USER.test(user)) {
    return fail(`invalid user name "${printable(user)}": it may contain only letters, digits, "_", "." and "-", and must start with a letter or "_"`)
  }
  return user
}

function checkedPort(text: string, fail: Fail): number {
  const port = Number(text)
  if (!PORT.test(text) || port > 65535) return fail(`invalid port "${printable(text)}": it must be a number from 1 to 65535`)
  return port
}

/** A remote home as written after "host:" or in a URL: absolute, "~", "~/x" or relative. */
function sshHome(text: string, fail: Fail): string {
  if (text.startsWith('~') && text !== '~' && !text.startsWith('~/')) {
    return fail(`"${printable(text.split('/')[0])}" (another user's home) is not supported: give the full path`)
  }
  const relative = text === '~' ? '.' : text.startsWith('~/') ? text.slice(2) || '.' : text
  const home = path.posix.normalize(relative).replace(/(.)\/$/, '$1')
  return checkedHome(home, fail)
}

function checkedHome(home: string, fail: Fail): string {
  // Relative homes go to the remote fvm as an argument of their own: a leading "-" would be read as an option.
  if (home.startsWith('-')) return fail(`home "${printable(home)}" must not start with "-"`)
  if (CONTROL.test(home)) return fail('the home path must not contain control characters')
  return home
}

/** The one way an address is written back: the shortest of the forms above that carries it. */
export function formatRemoteAddress(address: RemoteAddress): string {
  if (address.kind === 'local') return address.home
  const host = address.host.includes(':') ? `[${address.host}]` : address.host
  const user = address.user === undefined ? '' : `${address.user}@`
  const written = address.home === undefined ? undefined : formatSshHome(address.home)
  // scp-like "file:..." would read as a file URL missing its slashes.
  if (address.port !== undefined || (written !== undefined && /^file$/i.test(host))) {
    const port = address.port === undefined ? '' : `:${address.port}`
    // In a URL "/~x" means the user's home: an absolute path "/~x" is written "//~x".
    const urlPath = written === undefined ? '' : written.startsWith('/') && !written.startsWith('/~') ? written : `/${written}`
    return `ssh://${user}${host}${port}${urlPath}`
  }
  return `${user}${host}${written === undefined ? '' : `:${written}`}`
}

/** An ssh address's home as people read it: absolute, or "~/x" for x in the remote user's home ("~" for that home). */
export function formatSshHome(home: string): string {
  return path.posix.isAbsolute(home) ? home : home === '.' ? '~' : `~/${home}`
}

/** One argument for a POSIX shell: single-quoted, each "'" written as '\''. */
function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", "'\\''")}'`
}

/**
 * The argv that runs `remoteCommand` on the address's host: the ssh command (from
 * FVM_SSH, or ["ssh"]), port and user as options, "--" so the host can never be read
 * as one, then the command as one string, since sshd hands it to the user's shell.
 */
export function sshArgv(address: SshAddress, sshCommand: readonly string[], remoteCommand: readonly [string, ...string[]]): string[] {
  return [
    ...sshCommand,
    ...(address.port === undefined ? [] : ['-p', String(address.port)]),
    ...(address.user === undefined ? [] : ['-l', address.user]),
    '--',
    address.host,
    remoteCommand.map(shellQuote).join(' '),
  ]
}

/**
 * Words of a command line such as FVM_SSH="ssh -F /my/config -o 'ProxyJump=a b'": split
 * at blanks, with '...' (literal), "..." (where \ escapes " \ $ `) and \ outside quotes,
 * as sh does, without expansions.
 */
export function splitCommandLine(text: string, what = 'command line'): string[] {
  const fail: Fail = (problem) => {
    throw new FvmError('usage', `invalid ${what} "${printable(text)}": ${problem}`, {hint: 'quote words with spaces, e.g. ssh -F "/my dir/config"'})
  }
  const words: string[] = []
  let word: string | undefined
  let quote: "'" | '"' | undefined
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quote === "'") {
      if (c === "'") quote = undefined
      else word += c
    } else if (quote === '"') {
      if (c === '"') quote = undefined
      else if (c === '\\' && '"\\$`'.includes(text[i + 1] ?? '.')) word += text[++i]
      else word += c
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word)
      word = undefined
    } else {
      word ??= ''
      if (c === "'" || c === '"') quote = c
      else if (c !== '\\') word += c
      else if (i + 1 < text.length) word += text[++i]
      else fail('it ends with "\\"')
    }
  }
  if (quote !== undefined) fail(`unbalanced ${quote === "'" ? 'single' : 'double'} quote`)
  if (word !== undefined) words.push(word)
  if (words.length === 0) fail('no command')
  return words
}
