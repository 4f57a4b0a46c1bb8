#!/usr/bin/env bash
# Installs the system tools fvm's tests use (Debian, as root), and unpacks the stricter
# thin-provisioning-tools 1.x from Debian 13 into .tools/ without touching the system's.
# A second run is a no-op. Not root or not Debian: says what is missing and exits 0,
# so the tests that need a missing tool are skipped (and listed) instead.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
tools="$here/.tools"
packages=(thin-provisioning-tools qemu-utils libnbd-bin openssh-server openssh-client
  qemu-system-x86 linux-image-amd64 busybox-static cpio dmsetup tmux man-db rsync time xxhash zsh)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
tpt1="$tools/tpt1/usr/sbin/pdata_tools"

if [ ${#missing[@]} -eq 0 ] && [ -x "$tpt1" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-system-tools: not root on Debian; missing: ${missing[*]:-} ${tpt1##*/}" >&2
  echo "install-system-tools: the tests that need them will be skipped" >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-system-tools: installing ${missing[*]}" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$tpt1" ]; then
  # Debian 13's thin-provisioning-tools (Rust 1.x) runs on Debian 12; fetch it with a
  # throwaway sources list built from the machine's own Debian mirror line.
  work=$(mktemp -d)
  chmod 755 "$work"
  trap 'rm -rf "$work"' EXIT
  mirror=$( { grep -hE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; break}}'
  } | grep -E '/debian/?$' | head -1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" > "$work/sources.list"
  mkdir -p "$work/lists/partial" "$work/archives/partial"
  apt_opts=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$work/lists" -o Dir::Cache::Archives="$work/archives" -o APT::Sandbox::User=root -qq)
  apt-get "${apt_opts[@]}" update
  (cd "$work" && apt-get "${apt_opts[@]}" download thin-provisioning-tools)
  rm -rf "$tools/tpt1"
  mkdir -p "$tools/tpt1"
  dpkg-deb -x "$work"/thin-provisioning-tools_*.deb "$tools/tpt1"
  "$tpt1" thin_check --version >&2
fi
