import {Flags} from '@oclif/core'
import os from 'node:os'
import {type Instance, initInstance} from '../plumbing/instance.js'
import {FvmCommand} from '../ui/command.js'
import {homeFlag, resolveHome} from '../ui/home.js'

export default class Init extends FvmCommand<Instance> {
  static override summary = 'Create an fvm instance home'
  static override description =
    'Creates the instance home (--home, $FVM_HOME, or ~/.fvm): fvm.yaml with a new instance uuid and name, ' +
    'and the pool folder. Directories are made 0700 and files 0600 whatever the umask. ' +
    'An existing instance is never overwritten.'

  static override examples = [
    {description: 'Create the default instance, named after this host', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Create a second instance for tests', command: '<%= config.bin %> <%= command.id %> --home /tmp/fvm-b --name bravo'},
    {description: 'Print the new instance as JSON', command: '<%= config.bin %> <%= command.id %> --json'},
  ]

  static override flags = {
    home: homeFlag,
    name: Flags.string({description: 'instance name [default: the hostname]', helpValue: 'NAME'}),
  }

  public async run(): Promise<Instance> {
    const {flags} = await this.parse(Init)
    const instance = initInstance({home: resolveHome(flags.home), name: flags.name, hostname: os.hostname()})
    this.log(`Initialized fvm instance "${instance.name}" in ${instance.home}`)
    return instance
  }
}
