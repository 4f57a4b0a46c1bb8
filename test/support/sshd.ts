// A real OpenSSH server on 127.0.0.1 for the tests and benchmarks of fvm's ssh transport:
// its own temp directory (host key, user keys, configs, log), a free port, and sessions
// whose PATH resolves `fvm` to this checkout and `node` to the one running us.
import {execFile, execFileSync, spawn, type ChildProcess} from 'node:child_process'
import fs from 'node:fs'
import net, {type Socket} from 'node:net'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {promisify} from 'node:util'
import {fvmBin} from './cli.js'
import {needRoot, needTools, which} from './tools.js'

const SSHD = '/usr/sbin/sshd'
const sshTools = [SSHD, 'ssh', 'ssh-keygen']
/** sshd's privilege separation directory; Debian's service creates it at boot, a container may not have it. */
const PRIVSEP_DIR = '/run/sshd'
/** What sshd gives root as PATH when nothing overrides it (Debian's --with-superuser-path). */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const START_TIMEOUT_MS = 10_000
const STOP_TIMEOUT_MS = 5_000

export interface TestSshd {
  port: number
  /** The listening sshd (what its PidFile holds). */
  pid: number
  /** Host key, user keys, sshd_config, ssh_config, known_hosts, authorized_keys, pid file, sshd.log. */
  dir: string
  /**
   * Host aliases `fvm-test` (plain key) and, with a forced command, `fvm-forced` (the
   * forced-command key); no prompt, agent or system config can get in the way.
   */
  sshConfig: string
  /** FVM_SSH: the program and its leading options; fvm appends host and remote command. */
  sshCommand: string
  /** sshCommand as argv. */
  sshArgv: string[]
  /** Ends the listener and any sessions still open, then deletes `dir`; a second call waits for the first. */
  stop(): Promise<void>
}

export interface SshdOptions {
  /** Runs instead of whatever `fvm-forced` asks for; the request is in SSH_ORIGINAL_COMMAND. */
  forcedCommand?: string
  /** Searched first by remote commands; then this checkout's fvm, node, the system's PATH. */
  path?: string[]
}

/** Why startSshd cannot work here, or undefined when it can (for callers outside mocha). */
export function sshdAvailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root'
  const missing = sshTools.filter((tool) => which(tool) === undefined)
  if (missing.length > 0) return `missing ${missing.join(', ')} (Debian packages openssh-server, openssh-client)`
  return undefined
}

/** In a `before` hook: skips the group (or fails under CI) unless startSshd can work. */
export function needSshd(ctx: Mocha.Context): void {
  needRoot(ctx)
  needTools(ctx, ...sshTools)
}

export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fvm-sshd-'))
  try {
    return await startIn(dir, options)
  } catch (error) {
    fs.rmSync(dir, {recursive: true, force: true})
    throw error
  }
}

async function startIn(dir: string, options: SshdOptions): Promise<TestSshd> {
  const file = (name: string): string => path.join(dir, name)
  fs.mkdirSync(PRIVSEP_DIR, {recursive: true, mode: 0o755})
  const hostKey = newKey(file('host_key'))
  const userKey = newKey(file('user_key'))
  const authorized = [fs.readFileSync(`${userKey}.pub`, 'utf8')]
  let forcedKey: string | undefined
  if (options.forcedCommand !== undefined) {
    forcedKey = newKey(file('forced_key'))
    authorized.push(`command="${forcedCommandOption(options.forcedCommand)}",no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding ${fs.readFileSync(`${forcedKey}.pub`, 'utf8')}`)
  }
  fs.writeFileSync(file('authorized_keys'), authorized.join(''))

  // A wrapper: bin/ holds only fvm.js, and this checkout need not be npm-linked.
  const fvmDir = file('bin')
  fs.mkdirSync(fvmDir)
  fs.writeFileSync(path.join(fvmDir, 'fvm'), `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(fvmBin)} "$@"\n`, {mode: 0o755})
  const dirs = [...(options.path ?? []), fvmDir, path.dirname(process.execPath)]
  const bad = dirs.find((d) => /[:"\n]/.test(d))
  if (bad !== undefined) throw new Error(`a PATH directory cannot hold ':', '"' or a newline: ${bad}`)

  const {port, pid} = await listen(dir, (port) => [
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    `HostKey "${hostKey}"`,
    `PidFile "${file('sshd.pid')}"`,
    `AuthorizedKeysFile "${file('authorized_keys')}"`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The keys live under /tmp, which StrictModes would reject as world-writable.
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    // SetEnv is applied after sshd's default PATH, so it wins. SHLVL=1 makes the user's
    // bash count as nested: bash sources ~/.bashrc for sshd commands only at level 1, and
    // a developer's .bashrc that prepends to PATH (pyenv, cargo, a global fvm) would
    // otherwise decide what the remote runs.
    `SetEnv "PATH=${[...dirs, SYSTEM_PATH].join(':')}" SHLVL=1`,
  ])
  const standDownGuard = guardAgainstOurExit(pid, dir)

  const hostAlias = 'fvm-test-sshd'
  fs.writeFileSync(file('known_hosts'), `${hostAlias} ${fs.readFileSync(`${hostKey}.pub`, 'utf8')}`)
  const sshConfig = file('ssh_config')
  fs.writeFileSync(sshConfig, [
    'Host fvm-test fvm-forced',
    '  HostName 127.0.0.1',
    `  Port ${port}`,
    `  User ${os.userInfo().username}`,
    // The known host key, under a name that does not change with the port.
    `  HostKeyAlias ${hostAlias}`,
    `  UserKnownHostsFile "${file('known_hosts')}"`,
    '  GlobalKnownHostsFile /dev/null',
    '  StrictHostKeyChecking yes',
    '  IdentitiesOnly yes',
    '  IdentityAgent none',
    '  BatchMode yes',
    '  LogLevel ERROR',
    'Host fvm-test',
    `  IdentityFile "${userKey}"`,
    ...(forcedKey === undefined ? [] : ['Host fvm-forced', `  IdentityFile "${forcedKey}"`]),
    '',
  ].join('\n'))

  const sshArgv = ['ssh', '-F', sshConfig]
  let stopped: Promise<void> | undefined
  return {
    port,
    pid,
    dir,
    sshConfig,
    sshCommand: sshArgv.map(shellQuote).join(' '),
    sshArgv,
    stop: () => (stopped ??= (async () => {
      await endTree(pid)
      standDownGuard()
      if (!(await waitFor(async () => !(await accepts(port)), STOP_TIMEOUT_MS))) throw new Error(`port ${port} still open after sshd ended`)
      fs.rmSync(dir, {recursive: true, force: true})
    })()),
  }
}

/** Generates an unencrypted ed25519 key pair at `file` and `file`.pub; returns `file`. */
function newKey(file: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', path.basename(file), '-f', file], {stdio: ['ignore', 'ignore', 'pipe']})
  return file
}

/** The command="..." value: sshd unescapes only \" there, so a final backslash would swallow the closing quote. */
function forcedCommandOption(command: string): string {
  if (/[\r\n]|\\$/.test(command)) throw new Error(`a forced command cannot hold a newline or end in a backslash: ${command}`)
  return command.replaceAll('"', '\\"')
}

/**
 * Starts `sshd -D` (a child, so we know its pid and see it die) on a port that was free a
 * moment ago; another process may take the port in between, so that alone is retried.
 */
async function listen(dir: string, config: (port: number) => string[]): Promise<{port: number, pid: number}> {
  const configFile = path.join(dir, 'sshd_config')
  const log = path.join(dir, 'sshd.log')
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    fs.writeFileSync(configFile, `${config(port).join('\n')}\n`)
    fs.rmSync(log, {force: true})
    // Its own session, so a Ctrl-C meant for the tests does not end it before the guard can.
    const sshd = spawn(SSHD, ['-D', '-f', configFile, '-E', log], {detached: true, stdio: 'ignore'})
    sshd.unref()
    if (sshd.pid === undefined) throw new Error(`cannot start ${SSHD}`)
    const outcome = await listening(sshd, port, path.join(dir, 'sshd.pid'), log)
    if (outcome === 'listening') return {port, pid: sshd.pid}
    if (attempt === 5) throw new Error(`sshd found no free port in ${attempt} attempts`)
  }
}

async function listening(sshd: ChildProcess, port: number, pidFile: string, log: string): Promise<'listening' | 'port taken'> {
  const logText = (): string => fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '(no log)'
  const deadline = Date.now() + START_TIMEOUT_MS
  // The pid file is written once sshd listens, which tells our sshd from a port thief.
  while (!(fs.existsSync(pidFile) && await accepts(port))) {
    if (sshd.exitCode !== null || sshd.signalCode !== null) {
      if (logText().includes('Address already in use')) return 'port taken'
      throw new Error(`sshd exited (${sshd.exitCode ?? sshd.signalCode}) before listening on port ${port}:\n${logText()}`)
    }
    if (Date.now() > deadline) {
      const exited = new Promise((resolve) => sshd.once('exit', resolve))
      sshd.kill('SIGKILL')
      await exited
      throw new Error(`sshd not listening on port ${port} after ${START_TIMEOUT_MS / 1000} s:\n${logText()}`)
    }
    await sleep(20)
  }
  return 'listening'
}

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * A detached `sh` that kills the listener and removes `dir` once its stdin reaches end of
 * file, which happens however this process ends (test failure, Ctrl-C, SIGKILL), not only
 * through stop() or an 'exit' handler. Returns what stands the guard down.
 */
function guardAgainstOurExit(pid: number, dir: string): () => void {
  const guard = spawn('sh', ['-c', 'read _; kill "$1" 2>/dev/null; rm -rf "$2"', 'fvm-sshd-guard', String(pid), dir],
    {detached: true, stdio: ['pipe', 'ignore', 'ignore']})
  const stdin = guard.stdin as Socket
  guard.unref()
  stdin.unref()
  return () => {
    guard.kill()
    stdin.destroy()
  }
}

/** SIGTERMs `pid` and its descendants (sessions, their commands), SIGKILLs what lingers, and waits until all are gone. */
async function endTree(pid: number): Promise<void> {
  // Found before any dies: an orphan's parent link points at init, not at its sshd.
  const tree = processTree(pid)
  const signal = (name: NodeJS.Signals): void => {
    for (const p of tree.filter(processRunning)) {
      try {
        process.kill(p, name)
      } catch {
        // Ended meanwhile.
      }
    }
  }
  const ended = (): Promise<boolean> => waitFor(() => !tree.some(processRunning), STOP_TIMEOUT_MS)
  signal('SIGTERM')
  if (await ended()) return
  signal('SIGKILL')
  if (!(await ended())) throw new Error(`processes ${tree.filter(processRunning).join(', ')} survive SIGKILL`)
}

/** `pid` and every process descended from it, by the parent links in /proc. */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    const fields = procStat(Number(entry))
    if (fields === undefined) continue
    const ppid = Number(fields[1])
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
  }
  const tree = [pid]
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []))
  return tree
}

/** Whether `pid` runs; a zombie has ended, whether or not a slow init has reaped it yet. */
export function processRunning(pid: number): boolean {
  const state = procStat(pid)?.[0]
  return state !== undefined && state !== 'Z'
}

/** The fields of /proc/PID/stat after the command name: state, ppid, ...; undefined once the process is gone. */
function procStat(pid: number): string[] | undefined {
  let stat: string
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // The command name is in parentheses and may itself hold spaces and parentheses.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** Whether `condition` came true within `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) return false
    await sleep(20)
  }
  return true
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll('\'', '\'\\\'\'')}'`
}

/**
 * The anchor for fvm push, as a benchmark Command: `cat FILE | ssh fvm-test 'cat > /dev/null'`,
 * with ssh's default cipher or `cipher`. pipefail, so an unreadable FILE fails the run.
 */
export function sshCatCommand(sshd: Pick<TestSshd, 'sshArgv'>, file: string, cipher?: string): {label: string, argv: string[]} {
  const cipherArgs = cipher === undefined ? [] : ['-c', cipher]
  const ssh = [...sshd.sshArgv, ...cipherArgs, 'fvm-test', 'cat > /dev/null']
  return {
    label: ['cat | ssh', ...cipherArgs].join(' '),
    argv: ['bash', '-o', 'pipefail', '-c', `cat ${shellQuote(file)} | ${ssh.map(shellQuote).join(' ')}`],
  }
}

/** Runs sshCatCommand once, timed: the raw ssh throughput fvm push is measured against. */
export async function sshCatThroughput(sshd: TestSshd, file: string, cipher?: string): Promise<{seconds: number, bytes: number}> {
  const {argv} = sshCatCommand(sshd, file, cipher)
  const bytes = fs.statSync(file).size
  const started = process.hrtime.bigint()
  await promisify(execFile)(argv[0], argv.slice(1))
  return {seconds: Number(process.hrtime.bigint() - started) / 1e9, bytes}
}
