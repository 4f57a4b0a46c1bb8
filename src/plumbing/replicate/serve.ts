// `fvm serve`: the far end of a push, pull or fetch, speaking on a duplex byte stream
// (stdin/stdout under ssh or as a local child). It holds its instance's lock for the
// whole session, answers what it has, receives streams into staged devices and sends
// streams from snapshots. Every request is checked as untrusted input.
import type {Writable} from 'node:stream'
import {FvmError} from '../../errors.js'
import type {ReceiveRequest} from '../catalog/ops-receive.js'
import {type InstanceContext, type OpenInstance, withInstanceAsync} from '../instance-open.js'
import {applyStream, prepareStaging} from './receive.js'
import {type Message, PROTOCOL_VERSION, Session} from './session.js'
import {branchToSend, receiveRequestOf, remoteState, sendRequested, recordSent} from './negotiate.js'

export interface ServeOptions extends InstanceContext {
  /** Refuse to receive: nothing named here changes (sending may still take its hidden snapshot). */
  readOnly: boolean
  input: AsyncIterable<Uint8Array>
  output: Writable
}

export async function serve(o: ServeOptions): Promise<void> {
  const session = new Session(o.input, o.output)
  try {
    const hello = await session.receive(['hello'], 'waiting for hello')
    if (hello.protocol !== PROTOCOL_VERSION) {
      throw new FvmError('usage', `protocol ${String(hello.protocol)} is not spoken here (this fvm speaks ${PROTOCOL_VERSION})`, {
        hint: 'use the same fvm version on both sides',
      })
    }
    await withInstanceAsync(o, async (instance) => {
      const {name, uuid} = instance.config
      await session.send({op: 'hello', protocol: PROTOCOL_VERSION, instance: {name, uuid}, readOnly: o.readOnly})
      for (;;) {
        const request = await session.receive(['state', 'receive', 'describe', 'send', 'sent', 'bye'], 'waiting for a request')
        if (request.op === 'bye') break
        await answer(session, instance, request, o)
      }
    })
  } catch (error) {
    await session.sendError(error)
    throw error
  } finally {
    await session.end()
  }
}

async function answer(session: Session, instance: OpenInstance, request: Message, o: ServeOptions): Promise<void> {
  switch (request.op) {
    case 'state':
      return session.send({op: 'state', ...remoteState(instance, request)})
    case 'receive': {
      if (o.readOnly) throw new FvmError('usage', `instance "${instance.config.name}" is served read-only: it takes no pushes`)
      const receive: ReceiveRequest = receiveRequestOf(request)
      // Ready is sent first: the staging's commit then overlaps the sender's first reads and their way here.
      const staging = prepareStaging(instance, receive, o)
      try {
        await session.send({op: 'ready', received: staging.result.received, resumed: staging.result.resumed})
      } catch (error) {
        staging.abandon()
        throw error
      }
      const staged = staging.commit()
      const result = await applyStream(session.reader, {instance, ctx: o, request: receive, staged})
      return session.send({op: 'received', ...result})
    }
    case 'describe':
      return session.send({op: 'branch', ...branchToSend(instance, request, o)})
    case 'send':
      return sendRequested(session, instance, request, o)
    case 'sent':
      recordSent(instance, request, o, o.readOnly)
      return session.send({op: 'ok'})
  }
}
