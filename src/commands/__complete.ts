import {Command} from '@oclif/core/command'
import {completionNames} from '../plumbing/porcelain/completion-names.js'
import {completions} from '../ui/completion-candidates.js'
import {completionPosition} from '../ui/completion-position.js'
import {homeFlag, resolveHome} from '../ui/home.js'

export default class Complete extends Command {
  static override hidden = true
  static override summary = 'Print the tab completions for a command line, one per line'
  static override description =
    'Used by the shell functions "fvm autocomplete" sets up: WORDS are the words after "fvm" up to the one under ' +
    'the cursor. Prints names from the pool (volumes, VOLUME/BRANCH, TAG@VOLUME) and subcommands where they may go, ' +
    'reading the catalog without taking the pool\'s lock; prints nothing on any problem.'

  static override examples = ['<%= config.bin %> <%= command.id %> -- branch rm my']
  static override strict = false
  static override flags = {home: homeFlag}

  public async run(): Promise<void> {
    const {flags} = await this.parse(Complete)
    // The raw words after "--": oclif's own argv may reorder repeated words.
    const words = this.argv.slice(this.argv.indexOf('--') + 1)
    const position = completionPosition(this.config, words)
    if (position === undefined) return
    const found = completions(this.config, position, () => completionNames({home: resolveHome(position.home ?? flags.home)}))
    if (found.length > 0) process.stdout.write(`${found.join('\n')}\n`)
  }

  // A completion must never disturb the shell: any failure prints nothing and exits 0.
  protected override async catch(): Promise<void> {}
}
