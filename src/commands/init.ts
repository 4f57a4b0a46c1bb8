import * as Flags from '@oclif/core/flags'
import os from 'node:os'
import {type Instance, initInstance} from '../plumbing/instance.js'
import {parseSize} from '../plumbing/sizes.js'
import {FvmCommand} from '../ui/command.js'
import {failpointFromEnv} from '../ui/failpoint.js'
import {homeFlag, resolveHome} from '../ui/home.js'

export default class Init extends FvmCommand<Instance> {
  static override summary = 'Create an fvm instance home'
  static override description =
    'Creates the instance home (--home, $FVM_HOME, or ~/.fvm): fvm.yaml with a new instance uuid and name, and ' +
    'the pool: a sparse data file of --size bytes in blocks of --block-size, the dm-thin metadata beside it, and ' +
    'the catalog of volumes. Directories are made 0700 and files 0600 whatever the umask. An existing instance is ' +
    'never overwritten; an init cut short is finished by the next command.'

  static override examples = [
    {description: 'Create the default instance, named after this host', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Create a second instance for tests', command: '<%= config.bin %> <%= command.id %> --home /tmp/fvm-b --name bravo'},
    {description: 'A 1 TiB pool (sparse) with 1 MiB blocks', command: '<%= config.bin %> <%= command.id %> --size 1TiB --block-size 1MiB'},
    {description: 'Print the new instance as JSON', command: '<%= config.bin %> <%= command.id %> --json'},
  ]

  static override flags = {
    home: homeFlag,
    name: Flags.string({description: 'instance name [default: the hostname]', helpValue: 'NAME'}),
    size: Flags.string({description: 'pool data size (a sparse file)', helpValue: 'SIZE', default: '64GiB'}),
    'block-size': Flags.string({description: 'data block size, a multiple of 64KiB', helpValue: 'SIZE', default: '64KiB'}),
  }

  public async run(): Promise<Instance> {
    const {flags} = await this.parse(Init)
    const instance = initInstance({
      home: resolveHome(flags.home),
      name: flags.name,
      hostname: os.hostname(),
      size: parseSize(flags.size, 'pool size'),
      blockSize: parseSize(flags['block-size'], 'block size'),
      failpoint: await failpointFromEnv(),
    })
    this.log(`Initialized fvm instance "${instance.name}" in ${instance.home}`)
    return instance
  }
}
