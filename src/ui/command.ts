// The base every fvm command extends: --json returning the command's typed result,
// git-style errors with hints, and exit codes from src/errors.ts in every mode
// (oclif's own catch() turns custom exit codes into 1 under --json).
import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'
import {failed, printFailure} from './failure.js'

export abstract class FvmCommand<T extends object | void> extends Command {
  static override enableJsonFlag = true

  public abstract override run(): Promise<T>

  protected override async catch(err: Error): Promise<void> {
    const failure = failed(err, this.id)
    if (this.jsonEnabled()) {
      this.logJson({error: failure})
      return
    }
    await printFailure(failure)
    throw new Errors.ExitError(failure.exitCode)
  }

  // Plain, stable JSON: no colouring even on a TTY, so it pipes and diffs cleanly.
  override logJson(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
  }

  /** Chatter for people: stderr, silent in --json mode. */
  protected say(message: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`${message}\n`)
  }
}
