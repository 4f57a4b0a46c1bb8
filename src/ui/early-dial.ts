// push, pull and fetch start their connection before oclif loads: bin/fvm.js hands
// dialEarly the command line, so ssh's handshake and the other fvm's start-up (a third of
// a small push) run while the command starts. The line is read with the flags oclif's
// manifest lists for the command; a line this does not fully understand dials nothing.
// The command takes the connection only for the very dial it plans itself
// (ConnectOptions.started); one it does not take is killed when the command ends. An
// address is dialled without reading the config, and so without loading the YAML
// parser (~20 ms here): only a name can be a configured remote.
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {isDeepStrictEqual} from 'node:util'
import {configPath} from '../plumbing/home-layout.js'
import {nameProblem} from '../plumbing/names.js'
import {type Connection, type Dial, type RemoteLookup, planDial, startConnection} from '../plumbing/transport/connect.js'
import {connectSettings} from './connect-settings.js'
import {resolveHome} from './home-dir.js'

/** A flag as oclif's manifest describes it. */
export interface ManifestFlag {
  type: 'boolean' | 'option'
  char?: string
  env?: string
  default?: unknown
  allowNo?: boolean
}

/** The command line's first argument and its option flags' values (given, from the environment, or defaults). */
export interface DialLine {
  remote: string
  options: Record<string, string | undefined>
}

const manifestPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../oclif.manifest.json')

let early: {dial: Dial; connection: Connection} | undefined

/**
 * Reads ARGS (what follows the command's name) as oclif would: --name, --name=value,
 * --name value, -c, -c value, and "--" before arguments. Anything else (an unknown
 * flag, --help, a value that looks like a flag, -abc) gives undefined.
 */
export function readDialLine(args: readonly string[], flags: Record<string, ManifestFlag>, env: NodeJS.ProcessEnv): DialLine | undefined {
  const given = new Map<string, string>()
  const positional: string[] = []
  const named = (name: string): ManifestFlag | undefined => (Object.hasOwn(flags, name) ? flags[name] : undefined)
  const byChar = new Map(Object.entries(flags).flatMap(([name, f]) => (f.char === undefined ? [] : [[f.char, name] as const])))
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === '--') {
      positional.push(...args.slice(i + 1))
      break
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg)
      continue
    }
    const long = /^--([^=]+)(?:=(.*))?$/s.exec(arg)
    const name = long ? long[1] : /^-(.)$/s.test(arg) ? byChar.get(arg[1]) : undefined
    const negated = long !== null && name !== undefined && name.startsWith('no-') && named(name.slice(3))?.allowNo === true
    const flag = name === undefined ? undefined : named(negated ? name.slice(3) : name)
    if (flag === undefined) return undefined
    if (flag.type === 'boolean') {
      if (long?.[2] !== undefined) return undefined
      continue
    }
    const value = long?.[2] ?? args[++i]
    if (value === undefined || (long?.[2] === undefined && value.startsWith('-'))) return undefined
    given.set(name!, value)
  }
  if (positional.length === 0) return undefined
  const options: Record<string, string | undefined> = {}
  for (const [name, f] of Object.entries(flags)) {
    if (f.type !== 'option') continue
    const fallback = f.env === undefined ? undefined : env[f.env]
    options[name] = given.get(name) ?? (fallback === '' ? undefined : fallback) ?? (typeof f.default === 'string' ? f.default : undefined)
  }
  return {remote: positional[0], options}
}

/** Starts the connection ARGS (the whole command line) will ask for, if they say for sure; never fails. */
export async function dialEarly(args: readonly string[]): Promise<void> {
  try {
    const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as {commands?: Record<string, {flags?: Record<string, ManifestFlag>}>}
    const flags = manifest.commands?.[args[0]]?.flags
    const line = flags && readDialLine(args.slice(1), flags, process.env)
    if (!line) return
    const remoteFvm = line.options['remote-fvm']
    if (remoteFvm === undefined) return
    const home = resolveHome(line.options.home)
    const configured = await remoteLookup(home, line.remote)
    if (configured === undefined) return
    const dial = planDial({home, remote: line.remote, ...connectSettings(remoteFvm)}, configured)
    early = {dial, connection: startConnection(dial)}
  } catch {
    // The command plans the dial itself and reports what is wrong with it.
  }
}

/** The configured remotes if REMOTE could name one, else none; undefined where there is no instance (the command stops there). */
async function remoteLookup(home: string, remote: string): Promise<RemoteLookup | undefined> {
  if (nameProblem(remote) === undefined) return (await import('../plumbing/config.js')).configuredRemotes(home)
  return fs.existsSync(configPath(home)) ? () => undefined : undefined
}

/** The connection started early, if it was started for this very dial; one for another is stopped. */
export function takeEarlyConnection(dial: Dial): Connection | undefined {
  const taken = early
  early = undefined
  if (taken === undefined) return undefined
  if (isDeepStrictEqual([taken.dial.remote, taken.dial.argv], [dial.remote, dial.argv])) return taken.connection
  taken.connection.kill()
  return undefined
}

/** Stops a connection started early that no command took. */
export function dropEarlyConnection(): void {
  early?.connection.kill()
  early = undefined
}

