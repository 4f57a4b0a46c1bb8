// One byte bar per stream of a push, pull or fetch. Plumbing asks for a progress
// synchronously when a stream starts; the bar (which loads chalk) catches up once drawn.
import {type ByteProgress, startByteProgress} from './progress.js'

export interface TransferBars {
  start(label: string, total: number): {update(done: number): void}
  finish(): void
}

export function transferBars(json: boolean): TransferBars {
  let current: {bar?: ByteProgress; done: number; finished: boolean} | undefined
  const finish = (): void => {
    if (current === undefined) return
    current.finished = true
    current.bar?.finish()
  }
  return {
    start(label, total) {
      finish()
      const state: {bar?: ByteProgress; done: number; finished: boolean} = {done: 0, finished: false}
      current = state
      void startByteProgress(label, total, json).then((bar) => {
        state.bar = bar
        bar.update(state.done)
        if (state.finished) bar.finish()
      })
      return {
        update(done) {
          state.done = done
          state.bar?.update(done)
        },
      }
    },
    finish,
  }
}
