// Runs a command in a real terminal (a tmux pane) so tests can see what a person sees:
// colours, prompts, progress. Keys go in with send-keys; the screen comes back with
// capture-pane (optionally with escape codes).
import {execFileSync} from 'node:child_process'

let sessions = 0

const shellQuote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`

export interface PaneOptions {
  /** Variables to set; a value of null unsets it. */
  env?: Record<string, string | null>
  cwd?: string
  width?: number
  height?: number
}

export class TmuxPane {
  private readonly socket: string

  private constructor(socket: string) {
    this.socket = socket
  }

  /** Starts `argv` in a fresh tmux server; the pane stays open after it exits. */
  static start(argv: string[], options: PaneOptions = {}): TmuxPane {
    const socket = `fvm-test-${process.pid}-${sessions++}`
    const vars = Object.entries({TERM: 'xterm-256color', ...options.env})
    // env(1) takes -u options before any assignment.
    const env = [
      ...vars.filter(([, v]) => v === null).map(([k]) => `-u ${k}`),
      ...vars.filter(([, v]) => v !== null).map(([k, v]) => `${k}=${shellQuote(v as string)}`),
    ].join(' ')
    const script = `env ${env} ${argv.map(shellQuote).join(' ')}; echo "[exit=$?]"; exec sleep 3600`
    execFileSync('tmux', ['-L', socket, '-f', '/dev/null', 'new-session', '-d', '-s', 't',
      '-x', String(options.width ?? 120), '-y', String(options.height ?? 40),
      ...(options.cwd ? ['-c', options.cwd] : []), 'sh', '-c', script])
    return new TmuxPane(socket)
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], {encoding: 'utf8'})
  }

  /** Sends keys as tmux names them (`Enter`, `C-c`, `Down`) or literal text with {literal: true}. */
  send(keys: string, options: {literal?: boolean} = {}): void {
    this.tmux('send-keys', '-t', 't', ...(options.literal ? ['-l'] : []), keys)
  }

  screen(options: {escapes?: boolean} = {}): string {
    return this.tmux('capture-pane', '-p', '-J', '-t', 't', ...(options.escapes ? ['-e'] : []))
  }

  async waitFor(pattern: RegExp | string, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const screen = this.screen()
      if (typeof pattern === 'string' ? screen.includes(pattern) : pattern.test(screen)) return screen
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)}; screen:\n${screen}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Waits for the command to end and returns its exit status. */
  async exitCode(timeoutMs = 15_000): Promise<number> {
    const screen = await this.waitFor(/\[exit=\d+\]/, timeoutMs)
    return Number(/\[exit=(\d+)\]/.exec(screen)![1])
  }

  kill(): void {
    try {
      this.tmux('kill-server')
    } catch {
      // already gone
    }
  }
}
