// The client's side of a connection: reach the other instance's `fvm serve` before this
// side does its own work, greet it, run the transfer, say goodbye, and make sure the
// child is gone whatever happened.
import {FvmError} from '../../errors.js'
import type {OpenInstance} from '../instance-open.js'
import {checkName} from '../names.js'
import {configuredRemotes} from '../config.js'
import {type ConnectOptions, type Connection, planDial, startConnection} from '../transport/connect.js'
import {PROTOCOL_VERSION, Session, field} from './session.js'

export interface Peer {
  session: Session
  /** The other instance's name and uuid. */
  name: string
  uuid: string
  /** The configured remote's name, if REMOTE was one. */
  remote: string | null
}

/** A connection whose other side is starting while this side works; withPeer greets it. */
export interface Dialled {
  connection: Connection
  /** REMOTE as given. */
  given: string
  /** Shows what the other side said on stderr so far, and from now on as it comes. */
  listen(): void
}

/**
 * Starts the other side at once (or takes the connection o.started has for the same
 * dial), so ssh's handshake and the other fvm's start-up run while fn opens this
 * instance and works out what to do. What the other side says on stderr waits for
 * withPeer: a failure before it stays the only thing reported, as when nothing was
 * started yet. Whatever happened, the child is gone when this returns.
 */
export async function withConnection<R>(o: ConnectOptions, fn: (dialled: Dialled) => Promise<R>): Promise<R> {
  // The config is read whatever REMOTE is, so a missing instance is reported before a bad address.
  const dial = planDial(o, configuredRemotes(o.home))
  const connection = o.started?.(dial) ?? startConnection(dial)
  const listen = (): void => connection.listen(o.onStderr ?? (() => {}))
  try {
    return await fn({connection, given: o.remote, listen})
  } finally {
    // Already over when withPeer ran to its end; not when fn failed (or returned) before greeting.
    connection.kill()
    await connection.close().catch(() => 1)
  }
}

/**
 * Greets the other side, runs fn, says goodbye and waits for the other side to exit.
 * whileGreeting runs between our hello and the other side's (which opens its instance
 * first), and fn gets what it returned.
 */
export async function withPeer<R, W = undefined>(
  instance: OpenInstance,
  dialled: Dialled,
  fn: (peer: Peer, early: W | undefined) => Promise<R>,
  whileGreeting?: () => W,
): Promise<R> {
  const {connection} = dialled
  dialled.listen()
  const session = new Session(connection.input, connection.output)
  try {
    await session.send({op: 'hello', protocol: PROTOCOL_VERSION, instance: {name: instance.config.name, uuid: instance.config.uuid}})
    const early = whileGreeting?.()
    const hello = await session.receive(['hello'], 'greeting the other side')
    const other = field(hello, 'instance', 'object') as {name?: unknown; uuid?: unknown}
    const name = checkName('instance', String(other.name))
    if (other.uuid === instance.config.uuid) {
      throw new FvmError('usage', `"${dialled.given}" is this instance ("${name}")`, {hint: 'push to or pull from another instance'})
    }
    const result = await fn({session, name, uuid: String(other.uuid), remote: connection.remote}, early)
    await session.send({op: 'bye'})
    await session.end()
    await connection.close()
    return result
  } catch (error) {
    connection.kill()
    // A program that could not be started is why everything after failed: close() says so.
    await connection.close()
    // A side that failed before it could speak the protocol said why on its stderr.
    const said = connection.lastError()
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EPIPE' || code === 'ECONNRESET') {
      const missing = said !== undefined && /not found/.test(said)
      throw new FvmError('remote', `the other side closed the connection${said === undefined ? '' : `: ${said}`}`, {
        hint: missing ? 'is fvm installed there? --remote-fvm PATH (or FVM_REMOTE_FVM) names it' : undefined,
      })
    }
    if (error instanceof FvmError && error.kind === 'remote' && said !== undefined) {
      throw new FvmError('remote', `${error.message}: ${said}`, {hint: error.hint})
    }
    throw error
  }
}
