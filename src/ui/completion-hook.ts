// After `fvm autocomplete` (re)generates the shell functions, add name completion to
// them, so that one command stays the whole setup. A postrun hook runs after every
// command: it loads nothing unless the command was autocomplete.
import type {Hook} from '@oclif/core'
import path from 'node:path'

const hook: Hook.Postrun = async function ({Command, config}) {
  if (Command.id !== 'autocomplete' && Command.id !== 'autocomplete:create') return
  const {addNameCompletion} = await import('./completion-shell.js')
  addNameCompletion(path.join(config.cacheDir, 'autocomplete', 'functions'), config.bin)
}

export default hook
