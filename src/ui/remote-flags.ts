// The flag push, pull and fetch share: the fvm program on the far side of ssh.
import * as Flags from '@oclif/core/flags'

export const remoteFvmFlag = Flags.string({
  description: 'the fvm program on the other side of ssh',
  env: 'FVM_REMOTE_FVM',
  default: 'fvm',
  helpValue: 'PATH',
})
