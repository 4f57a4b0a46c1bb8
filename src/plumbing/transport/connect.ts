// Reaching another instance's `fvm serve`: over ssh (the user's own ssh program, so their
// ~/.ssh/config, agent and keys apply; FVM_SSH replaces the ssh command) or, for a
// local path or file:// URL, as a child process of this fvm. Either way the child's
// stdin and stdout are the connection and its stderr is the other side's chatter, held
// until someone listens. Planning the dial and starting it are apart, so a connection
// started early (src/ui/early-dial.ts) is taken only for the very same dial. Started
// with node's own spawn, not execa: loading execa took 25-40 ms before every push could
// dial, and none of what it adds (buffered output, a result promise) fits a connection.
import {spawn} from 'node:child_process'
import type {Readable, Writable} from 'node:stream'
import {FvmError} from '../../errors.js'
import type {RemoteConfig} from '../config.js'
import {nameProblem} from '../names.js'
import {type ParseAddressOptions, type RemoteAddress, formatRemoteAddress, parseRemoteAddress, sshArgv} from './address.js'
import {type SshReuse, reuseOptions} from './ssh-reuse.js'

export interface ConnectOptions extends ParseAddressOptions {
  /** This instance's home: where configured remotes are looked up. */
  home: string
  /** A configured remote's name, or an address. */
  remote: string
  /** The ssh client and its leading options (FVM_SSH split); default ["ssh"]. */
  sshCommand?: string[]
  /** Where and how long ssh keeps a connection open for the next command; none: ssh runs as given. */
  sshReuse?: SshReuse
  /** The argv that runs this very fvm, for local remotes: [node, bin/fvm.js]. */
  localFvm: string[]
  /** The fvm program on the far side of ssh. */
  remoteFvm?: string
  /** Each line the other side writes to its stderr. */
  onStderr?: (line: string) => void
  /** A connection already started for this dial, if there is one (bin/fvm.js starts ssh before a command loads). */
  started?: (dial: Dial) => Connection | undefined
}

/** What reaching REMOTE takes: the program to start and what it reaches. */
export interface Dial {
  /** The configured remote's name, if REMOTE was one. */
  remote: string | null
  address: RemoteAddress
  argv: string[]
  /** ssh was asked to keep its connection open for the next command (ssh-reuse.ts). */
  reusing?: boolean
}

/** What ssh says when another command is opening the connection to keep: this one goes on without it. */
const REUSE_RACE = /^ControlSocket .* already exists, disabling multiplexing\r?$/

export interface Connection {
  /** The configured remote's name, if REMOTE was one. */
  remote: string | null
  address: RemoteAddress
  input: Readable
  output: Writable
  /** Hands each line the other side writes to its stderr to onLine: the lines so far, then each as it comes. */
  listen(onLine: (line: string) => void): void
  /** Waits for the other side to exit after our end of the connection closed; its exit code. */
  close(): Promise<number>
  /** Stops the other side at once. */
  kill(): void
  /** What the other side last said on its stderr: its last "error:" line, else its last line, if any. */
  lastError(): string | undefined
}

/** The instance's configured remotes by name (config.ts's configuredRemotes), or none. */
export type RemoteLookup = (name: string) => RemoteConfig | undefined

/** What REMOTE names: a configured remote (which wins, as in git), or an address. */
export function resolveRemote(o: Pick<ConnectOptions, 'home' | 'remote' | 'cwd' | 'userHome'>, configured: RemoteLookup): {remote: string | null; address: RemoteAddress} {
  const named = nameProblem(o.remote) ? undefined : configured(o.remote)
  if (named) return {remote: o.remote, address: parseRemoteAddress(named.url, {cwd: o.home})}
  return {remote: null, address: parseRemoteAddress(o.remote, o)}
}

/** The program that reaches REMOTE's `fvm serve`: ssh, or this fvm for a local instance. */
export function planDial(o: ConnectOptions, configured: RemoteLookup): Dial {
  const {remote, address} = resolveRemote(o, configured)
  if (address.kind === 'local') return {remote, address, argv: [...o.localFvm, 'serve', '--home', address.home]}
  const ssh = o.sshCommand ?? ['ssh']
  const reuse = reuseOptions(o.sshReuse, ssh, [String(address.port ?? ''), address.user ?? '', address.host])
  const argv = sshArgv(address, [...ssh, ...reuse], [o.remoteFvm ?? 'fvm', 'serve', ...(address.home === undefined ? [] : ['--home', address.home])])
  return {remote, address, argv, reusing: reuse.length > 0}
}

/** Starts the dial's program; its stdin and stdout are the connection. */
export function startConnection(dial: Dial): Connection {
  const {remote, address, argv} = dial
  const [file, ...args] = argv
  const child = spawn(file, args, {stdio: 'pipe'})
  let spawnError: Error | undefined
  const exited = new Promise<number | undefined>((resolve) => {
    child.once('error', (error) => {
      spawnError = error
      resolve(undefined)
    })
    child.once('close', (code) => resolve(code ?? undefined))
  })
  let lastError: string | undefined
  let lastLine: string | undefined
  const held: string[] = []
  let listener: ((line: string) => void) | undefined
  const onLine = (line: string): void => {
    if (dial.reusing === true && REUSE_RACE.test(line)) return
    if (/^error: /.test(line)) lastError = line.slice('error: '.length)
    else if (line.trim() !== '' && !/^hint: /.test(line)) lastLine = line.trim()
    if (listener) listener(line)
    else held.push(line)
  }
  let partial = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (text: string) => {
    const lines = (partial + text).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) onLine(line)
  })
  child.stderr.on('end', () => {
    if (partial) onLine(partial)
  })
  return {
    remote,
    address,
    input: child.stdout,
    output: child.stdin,
    listen(show: (line: string) => void): void {
      listener = show
      for (const line of held.splice(0)) show(line)
    },
    async close(): Promise<number> {
      if (!child.stdin.writableEnded) child.stdin.end()
      const exitCode = await exited
      if (spawnError && exitCode === undefined) {
        throw new FvmError('remote', `cannot reach "${formatRemoteAddress(address)}": ${spawnError.message.split('\n')[0]}`)
      }
      return exitCode ?? 1
    },
    kill(): void {
      child.kill('SIGKILL')
      // Closed here too: over a reused ssh connection the session, and the other side, go on while they are open.
      // Its stderr is read to the end still: its last lines say why it stopped.
      child.stdin.destroy()
      child.stdout.destroy()
    },
    lastError: () => lastError ?? lastLine,
  }
}
