// The base every fvm command extends: --json returning the command's typed result,
// git-style errors with hints, and exit codes from src/errors.ts in every mode
// (oclif's own catch() turns custom exit codes into 1 under --json).
import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'
import {colorFor} from './color.js'
import {describeFailure, renderFailure} from './failure.js'

export abstract class FvmCommand<T extends object | void> extends Command {
  static override enableJsonFlag = true

  public abstract override run(): Promise<T>

  protected override async catch(err: Error): Promise<void> {
    const failure = describeFailure(err, this.id)
    process.exitCode = failure.exitCode
    if (process.env.FVM_DEBUG && err.stack) process.stderr.write(`${err.stack}\n`)
    if (this.jsonEnabled()) {
      this.logJson({error: failure})
      return
    }
    process.stderr.write(renderFailure(failure, await colorFor(process.stderr)))
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
