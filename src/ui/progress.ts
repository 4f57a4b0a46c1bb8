// Progress for anything that can take more than a second, on stderr and only on a
// terminal: a spinner (ora, loaded on first use) or a byte bar with rate and time left.
import {colorFor, wantsColor} from './color.js'
import {formatBytes, formatDuration} from './units.js'

export interface Spinner {
  succeed(text?: string): void
  fail(text?: string): void
}

const silentSpinner: Spinner = {succeed() {}, fail() {}}

export async function startSpinner(text: string, json: boolean): Promise<Spinner> {
  if (json || !process.stderr.isTTY) return silentSpinner
  const {default: ora} = await import('ora')
  const spinner = ora({text, stream: process.stderr, color: wantsColor(process.stderr) ? 'cyan' : false}).start()
  return {succeed: (t) => spinner.succeed(t), fail: (t) => spinner.fail(t)}
}

export interface ByteProgress {
  /** Total bytes done so far. */
  update(done: number): void
  finish(): void
}

const REDRAW_MS = 100
const BAR_WIDTH = 24

export async function startByteProgress(label: string, total: number, json: boolean): Promise<ByteProgress> {
  if (json || !process.stderr.isTTY) return {update() {}, finish() {}}
  const chalk = await colorFor(process.stderr)
  const started = Date.now()
  let lastDraw = 0
  let done = 0
  const draw = (): void => {
    const elapsed = (Date.now() - started) / 1000
    const rate = elapsed > 0 ? done / elapsed : 0
    const fraction = total > 0 ? Math.min(1, done / total) : 1
    const filled = Math.round(fraction * BAR_WIDTH)
    const bar = chalk.cyan('#'.repeat(filled)) + '-'.repeat(BAR_WIDTH - filled)
    const left = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY
    const line = `${label} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
      `${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s ${formatDuration(left)} left`
    process.stderr.write(`\r${line}\u001B[K`)
  }
  return {
    update(n) {
      done = n
      const now = Date.now()
      if (now - lastDraw >= REDRAW_MS) {
        lastDraw = now
        draw()
      }
    },
    finish() {
      draw()
      process.stderr.write('\n')
    },
  }
}
