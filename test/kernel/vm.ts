// Runs a bash script as root in a throwaway VM whose kernel has dm-thin, for tests that
// must prove the real kernel reads and writes fvm's pools. The host kernel has no
// device-mapper and KVM does not work here, so qemu emulates the CPU (TCG): 5-10 s a boot.
// The guest sees the host's root read-only (its tools) and the caller's work dir read-write.
import {spawn} from 'node:child_process'
import {existsSync, statSync} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {which} from '../support/tools.js'
import {SCRIPT_START_MARKER, SHARE, findStaticBusybox, initramfsFor} from './initramfs.js'
import {findKernel} from './kernel.js'
import {bootImage} from './pvh.js'

export {GUEST_WORK_DIR} from './initramfs.js'

export interface VmOptions {
  /** Host directory shared read-write with the guest, mounted there at GUEST_WORK_DIR (the script's cwd, $WORK). */
  workDir: string
  /** Kills qemu after this long; default 120 s. */
  timeoutMs?: number
  /** Guest memory; default 1024 MiB. */
  memoryMiB?: number
}

export interface VmResult {
  stdout: string
  stderr: string
  exitCode: number
  /** From starting qemu to its exit. */
  durationMs: number
  /** From starting qemu to the script starting: kernel boot and the initramfs. */
  bootMs: number
  /** The serial console: kernel messages, the init's own messages, qemu's warnings. */
  console: string
}

const QEMU = 'qemu-system-x86_64'
// Runs qemu with PR_SET_PDEATHSIG, so it dies with this process however that ends.
const SETPRIV = 'setpriv'
const DEFAULT_TIMEOUT_MS = 120_000
const DEFAULT_MEMORY_MIB = 1024

// SeaBIOS clears the screen; the console is read as plain text.
const stripTerminalCodes = (text: string): string => text.replaceAll('\r\n', '\n').replace(/\x1b(\[[0-9;?]*[A-Za-z]|c)/g, '')

const tail = (text: string, lines = 40): string => text.split('\n').slice(-lines).join('\n')

export class VmTimeoutError extends Error {
  constructor(
    readonly timeoutMs: number,
    readonly pid: number,
    readonly console: string,
  ) {
    super(`kernel VM timed out after ${timeoutMs} ms; killed qemu (pid ${pid}). Console tail:\n${tail(console)}`)
    this.name = 'VmTimeoutError'
  }
}

/** For needTools(): commands and paths the VM needs; an absent one names what to install. */
export function kernelVmRequirements(): string[] {
  return [
    QEMU,
    SETPRIV,
    findKernel()?.vmlinuz ?? '/boot/vmlinuz-<ver> with dm-thin-pool in /lib/modules/<ver> (linux-image-amd64)',
    findStaticBusybox() ?? '/bin/busybox, statically linked (busybox-static)',
  ]
}

interface QemuRun {
  console: string
  status: string
  durationMs: number
  bootMs?: number
}

function runQemu(qemu: string, args: string[], timeoutMs: number): Promise<QemuRun> {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const child = spawn(SETPRIV, ['--pdeathsig', 'KILL', qemu, ...args], {stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    let bootMs: number | undefined
    const collect = (chunk: string): void => {
      output += chunk
      if (bootMs === undefined && output.includes(SCRIPT_START_MARKER)) bootMs = performance.now() - start
    }
    for (const stream of [child.stdout, child.stderr]) stream.setEncoding('utf8').on('data', collect)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const text = stripTerminalCodes(output)
      if (timedOut) reject(new VmTimeoutError(timeoutMs, child.pid ?? -1, text))
      else resolve({console: text, status: signal ?? `exit ${code}`, durationMs: performance.now() - start, bootMs})
    })
  })
}

/** A qemu -virtfs option; commas in a path are doubled, qemu's escape. */
function virtfs(dir: string, tag: string, extra: string): string {
  return `local,path=${dir.replaceAll(',', ',,')},mount_tag=${tag},multidevs=remap,${extra}`
}

/**
 * Boots the VM, runs `script` with bash as root in a chroot of the host root (cwd and
 * $WORK = GUEST_WORK_DIR, the work dir; loop and dm-thin-pool loaded; no udev, so call
 * `dmsetup mknodes` after `dmsetup create`), powers off and returns what the script printed
 * and its exit code. Rejects with VmTimeoutError if it runs past the timeout.
 */
export async function runInKernelVm(script: string, opts: VmOptions): Promise<VmResult> {
  const qemu = which(QEMU)
  if (!qemu) throw new Error(`${QEMU} not found on PATH (apt-get install qemu-system-x86)`)
  if (!which(SETPRIV)) throw new Error(`${SETPRIV} not found on PATH (apt-get install util-linux)`)
  const kernel = findKernel()
  if (!kernel) throw new Error('no /boot/vmlinuz-<ver> with dm-thin-pool in /lib/modules/<ver> (apt-get install linux-image-amd64)')
  const workDir = path.resolve(opts.workDir)
  if (!statSync(workDir, {throwIfNoEntry: false})?.isDirectory()) throw new Error(`work dir ${workDir} is not a directory`)
  const image = bootImage(kernel)
  const initrd = initramfsFor(kernel)

  const controlDir = await mkdtemp(path.join(tmpdir(), 'fvm-vm-'))
  try {
    await writeFile(path.join(controlDir, 'script.sh'), script)
    const run = await runQemu(qemu, [
      '-m', String(opts.memoryMiB ?? DEFAULT_MEMORY_MIB), '-smp', '1',
      '-nographic', '-no-reboot', '-nic', 'none',
      '-kernel', image, '-initrd', initrd,
      '-append', 'console=ttyS0 quiet panic=-1',
      '-virtfs', virtfs('/', SHARE.hostRoot, 'security_model=passthrough,readonly=on'),
      // security_model=none: ownership changes the guest makes are not errors when qemu is not root.
      '-virtfs', virtfs(workDir, SHARE.work, 'security_model=none'),
      '-virtfs', virtfs(controlDir, SHARE.control, 'security_model=none'),
    ], opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)

    const result = (name: string): Promise<string> => readFile(path.join(controlDir, name), 'utf8')
    if (!existsSync(path.join(controlDir, 'exit'))) {
      throw new Error(`the kernel VM stopped (qemu ${run.status}) before the script finished. Console tail:\n${tail(run.console)}`)
    }
    return {
      stdout: await result('stdout'),
      stderr: await result('stderr'),
      exitCode: Number((await result('exit')).trim()),
      durationMs: Math.round(run.durationMs),
      bootMs: Math.round(run.bootMs ?? run.durationMs),
      console: run.console,
    }
  } finally {
    await rm(controlDir, {recursive: true, force: true})
  }
}
