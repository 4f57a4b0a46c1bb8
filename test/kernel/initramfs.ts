// The VM's initramfs: static busybox, the virtio and 9p modules, and an /init that
// chroots into the host's root (shared read-only over 9p) to run a test script there,
// so the guest uses the host's own bash, node, dmsetup, losetup and thin_* tools.
import {existsSync, readFileSync} from 'node:fs'
import {gzipSync} from 'node:zlib'
import {cachedFile, fingerprint, hashOf} from './cache.js'
import {type CpioEntry, newcArchive, S_IFCHR, S_IFDIR, S_IFREG} from './cpio.js'
import {PT_INTERP, isElf64, programHeaders} from './elf.js'
import {type Kernel, moduleLoadOrder, readModule} from './kernel.js'

/** 9p mount tags the VM runner exports. */
export const SHARE = {hostRoot: 'hostroot', work: 'work', control: 'vm'} as const

/** Where the work share is mounted inside the guest's chroot. */
export const GUEST_WORK_DIR = '/run/work'

/** Inside the chroot: the control share with script.sh in, and stdout, stderr and exit out. */
const GUEST_CONTROL_DIR = '/run/vm'

/** Printed on the console just before the script starts, so the host can time the boot. */
export const SCRIPT_START_MARKER = 'fvm-vm: running script'

/** Enough to mount 9p over virtio-pci; loop and dm-thin-pool are modprobed from the host root later. */
const INITRAMFS_MODULES = ['virtio_pci', '9pnet_virtio', '9p']

function initScript(modules: string[]): string {
  const root = '/newroot'
  const p9 = 'trans=virtio,version=9p2000.L,msize=262144'
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
fail() { echo "fvm-vm: $*"; poweroff -f; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in ${modules.join(' ')}; do insmod /lib/modules/$m.ko || fail "insmod $m"; done
R=${root}
mount -t 9p -o ${p9},ro ${SHARE.hostRoot} $R || fail "cannot mount the host root"
# The host's /tmp and /run are hidden: the guest gets fresh ones and no stale udev or lock state.
mount -t proc proc $R/proc && mount -t sysfs sysfs $R/sys && mount -t devtmpfs devtmpfs $R/dev &&
  mount -t tmpfs tmpfs $R/tmp && mount -t tmpfs tmpfs $R/run || fail "cannot mount the guest filesystems"
# devtmpfs lacks these; bash process substitution needs /dev/fd.
ln -s /proc/self/fd $R/dev/fd; ln -s fd/0 $R/dev/stdin; ln -s fd/1 $R/dev/stdout; ln -s fd/2 $R/dev/stderr
mkdir -p $R${GUEST_WORK_DIR} $R${GUEST_CONTROL_DIR}
mount -t 9p -o ${p9} ${SHARE.work} $R${GUEST_WORK_DIR} && mount -t 9p -o ${p9} ${SHARE.control} $R${GUEST_CONTROL_DIR} ||
  fail "cannot mount the work shares"
chroot $R /sbin/modprobe loop && chroot $R /sbin/modprobe dm-thin-pool || fail "cannot load loop and dm-thin-pool"
echo "${SCRIPT_START_MARKER}"
chroot $R /usr/bin/env -i PATH="$PATH" HOME=/root LC_ALL=C WORK=${GUEST_WORK_DIR} \\
  /bin/bash -c 'cd "$WORK" && exec bash ${GUEST_CONTROL_DIR}/script.sh' \\
  <$R/dev/null >$R${GUEST_CONTROL_DIR}/stdout 2>$R${GUEST_CONTROL_DIR}/stderr
echo $? >$R${GUEST_CONTROL_DIR}/exit
sync
umount $R${GUEST_CONTROL_DIR} $R${GUEST_WORK_DIR}
poweroff -f
`
}

function isStaticElf(file: string): boolean {
  const elf = readFileSync(file)
  return isElf64(elf) && !programHeaders(elf).some((ph) => ph.type === PT_INTERP)
}

/** A statically linked busybox (Debian's busybox-static); a dynamic one cannot run in the initramfs. */
export function findStaticBusybox(): string | undefined {
  return ['/bin/busybox', '/usr/bin/busybox'].find((f) => existsSync(f) && isStaticElf(f))
}

/**
 * The gzip'ed initramfs for this kernel, built on first use and cached under .tools/ by
 * kernel version and a hash of everything that goes into it.
 */
export function initramfsFor(kernel: Kernel): string {
  const busybox = findStaticBusybox()
  if (!busybox) throw new Error('no statically linked busybox found (apt-get install busybox-static)')
  const modules = moduleLoadOrder(kernel, INITRAMFS_MODULES)
  const init = initScript(modules.map((m) => m.name))
  const hash = hashOf(init, fingerprint(busybox), ...modules.map((m) => fingerprint(m.file)))
  const dir = (name: string): CpioEntry => ({name, mode: S_IFDIR | 0o755})
  return cachedFile(`initramfs-${kernel.version}-${hash}.cpio.gz`, () => gzipSync(newcArchive([
    ...['bin', 'dev', 'proc', 'sys', 'newroot', 'lib', 'lib/modules'].map(dir),
    // The kernel opens /dev/console for /init's stdio before anything is mounted.
    {name: 'dev/console', mode: S_IFCHR | 0o600, rdev: {major: 5, minor: 1}},
    {name: 'bin/busybox', mode: S_IFREG | 0o755, data: readFileSync(busybox)},
    ...modules.map((m) => ({name: `lib/modules/${m.name}.ko`, mode: S_IFREG | 0o644, data: readModule(m)})),
    {name: 'init', mode: S_IFREG | 0o755, data: Buffer.from(init)},
  ])))
}
