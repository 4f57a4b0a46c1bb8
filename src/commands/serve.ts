import * as Flags from '@oclif/core/flags'
import {FvmCommand} from '../ui/command.js'
import {serveStdio} from '../ui/serve-stdio.js'

export default class Serve extends FvmCommand<void> {
  static override summary = 'Speak the fvm protocol on stdin and stdout (the far end of push, pull and fetch)'
  static override description =
    'Run by push, pull and fetch on the other instance: over ssh ("ssh HOST fvm serve --home DIR"), or as a local ' +
    'child for a path or file:// remote. Not for people to run by hand. As an ssh forced command ' +
    '(command="fvm serve --home /srv/fvm --read-only" in authorized_keys) it reads the client\'s request from ' +
    'SSH_ORIGINAL_COMMAND, allows only "fvm serve" with --home and --read-only, keeps the forced options (a client ' +
    'cannot lift --read-only or choose another home), and never runs a shell. --read-only refuses pushes; pulls ' +
    'still record the hidden snapshot they send from.'

  static override examples = [
    {description: 'In ~/.ssh/authorized_keys on the receiving host', command: 'command="fvm serve --home /srv/fvm",no-pty,no-port-forwarding ssh-ed25519 AAAA... alpha'},
    {description: 'A read-only mirror others may only pull from', command: '<%= config.bin %> <%= command.id %> --home /srv/fvm --read-only'},
  ]

  static override flags = {
    home: Flags.string({description: 'instance home directory [default: $FVM_HOME, else ~/.fvm]', env: 'FVM_HOME', helpValue: 'DIR'}),
    'read-only': Flags.boolean({description: 'refuse pushes: nothing named here changes'}),
  }

  public async run(): Promise<void> {
    const {flags} = await this.parse(Serve)
    await serveStdio({home: flags.home, readOnly: flags['read-only'] ?? false})
  }
}
