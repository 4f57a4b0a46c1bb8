// Loaded with `node --import`: records every module URL the process resolves into the
// file named by FVM_TRACE_IMPORTS, so tests can see which libraries a command loads.
import {register} from 'node:module'
import {MessageChannel} from 'node:worker_threads'
import {appendFileSync} from 'node:fs'

const {port1, port2} = new MessageChannel()
port1.on('message', (url) => appendFileSync(process.env.FVM_TRACE_IMPORTS, `${url}\n`))
port1.unref()
register('./trace-imports-hooks.mjs', {parentURL: import.meta.url, data: {port: port2}, transferList: [port2]})
