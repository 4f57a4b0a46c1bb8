import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {ExitCode} from '../errors.js'
import {type PushResult, push} from '../plumbing/replicate/push.js'
import {FvmCommand} from '../ui/command.js'
import {failpointFromEnv} from '../ui/failpoint.js'
import {homeFlag, resolveHome} from '../ui/home.js'
import {connectSettings, remoteChatter} from '../ui/connect-settings.js'
import {takeEarlyConnection} from '../ui/early-dial.js'
import {remoteFvmFlag} from '../ui/remote-flags.js'
import {transferBars} from '../ui/transfer-progress.js'
import {formatBytes} from '../ui/units.js'

export default class Push extends FvmCommand<PushResult> {
  static override summary = 'Send branches to another instance'
  static override description =
    'For each branch, asks the other instance what it holds, freezes the branch into a hidden snapshot (only if ' +
    'it changed since the last one) and sends only the blocks that differ from the newest snapshot both have (the ' +
    'whole volume the first time). The receiver stages the stream, checks it and publishes it as the read-only ' +
    'remote branch THIS-INSTANCE/VOLUME/BRANCH in one commit. A push that is not a fast-forward is refused unless ' +
    '--force (the replaced head stays in the remote branch\'s reflog). An interrupted push resumes where it ' +
    'stopped. REMOTE is a remote\'s name (fvm remote add) or an address: ssh://[user@]host[:port][/home], ' +
    '[user@]host:home, a host name, file:///path or a path. FVM_SSH replaces the ssh command (e.g. "ssh -F cfg"). ' +
    'ssh keeps its connection open for 60 s, so the next push, pull or fetch to the same place skips the handshake ' +
    '(FVM_SSH_PERSIST=SECONDS; 0 keeps none).'

  static override examples = [
    {description: 'Every branch of every volume', command: '<%= config.bin %> <%= command.id %> beta'},
    {description: 'One branch, over ssh', command: '<%= config.bin %> <%= command.id %> ssh://backup.example.com/srv/fvm mydata/trunk'},
    {description: 'What would be sent', command: '<%= config.bin %> <%= command.id %> beta mydata --dry-run'},
    {description: 'To an instance on this machine', command: '<%= config.bin %> <%= command.id %> ../mirror mydata/trunk'},
  ]

  static override strict = false
  static override args = {
    remote: Args.string({description: 'a remote\'s name or an address', required: true}),
    refs: Args.string({description: 'VOLUME or VOLUME/BRANCH, any number (default: every branch)'}),
  }

  static override flags = {
    home: homeFlag,
    force: Flags.boolean({char: 'f', description: 'replace a remote head that is not an ancestor (kept in its reflog)'}),
    'dry-run': Flags.boolean({char: 'n', description: 'say what would be sent, and how many bytes; send nothing'}),
    as: Flags.string({description: 'the volume\'s name on the receiver, if it is new there', helpValue: 'NAME'}),
    'remote-fvm': remoteFvmFlag,
  }

  public async run(): Promise<PushResult> {
    const {argv, flags} = await this.parse(Push)
    const [remote, ...refs] = argv as string[]
    const bars = transferBars(this.jsonEnabled())
    const result = await push({
      home: resolveHome(flags.home),
      remote,
      refs,
      force: flags.force ?? false,
      dryRun: flags['dry-run'] ?? false,
      as: flags.as,
      ...connectSettings(flags['remote-fvm']),
      started: takeEarlyConnection,
      onStderr: remoteChatter,
      progress: (label, total) => bars.start(`push ${label}`, total),
      failpoint: await failpointFromEnv(),
    }).finally(() => bars.finish())
    const verb = result.dryRun ? 'would send' : 'sent'
    for (const b of result.branches) {
      const what = b.action === 'up-to-date' ? 'up to date' : b.action === 'refused' ? `refused: ${b.reason}` : `${b.action}, ${verb} ${formatBytes(b.dataBytes)}`
      this.log(`${b.branch} -> ${result.instance}:${b.remoteBranch}  ${what}${b.resumedFrom > 0 ? ` (resumed at ${formatBytes(b.resumedFrom)})` : ''}`)
    }
    if (!result.dryRun) this.say(`${formatBytes(result.bytesSent)} on the wire`)
    if (result.branches.some((b) => b.action === 'refused')) {
      this.say('hint: pull and reconcile first, or push with --force (the replaced head stays in the reflog)')
      process.exitCode = ExitCode.conflict
    }
    return result
  }
}
