#!/usr/bin/env bash
# A tour of fvm on a throwaway instance home, each step printed before it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build:ts
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export FVM_HOME=$work/fvm-home
fvm() { node bin/fvm.js "$@"; }
bold=''; plain=''
if [ -t 2 ] && [ -z "${NO_COLOR+x}" ]; then bold=$'\033[1m'; plain=$'\033[0m'; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain" >&2; "$@"; }
sha() { head -c 4M "$1" | sha256sum | cut -c1-16; }

step fvm init --name quickstart --size 1GiB
step fvm volume create mydata --size 16MiB
head -c 4M /dev/urandom > "$work/v1.img"
step fvm volume import mydata/trunk "$work/v1.img"
step fvm tag v1@mydata
step fvm branch mydata/feature
cp "$work/v1.img" "$work/v2.img"
head -c 64K /dev/urandom | dd of="$work/v2.img" bs=64K seek=10 conv=notrunc status=none
step fvm volume import mydata/trunk "$work/v2.img"     # writes only the one changed block
step fvm diff v1@mydata mydata/trunk                    # that block, found without reading the volume
step fvm rollback mydata/trunk v1 --yes
step fvm volume export mydata/trunk "$work/back.img"
printf 'first 4 MiB: v1.img %s, v2.img %s, trunk after rollback %s\n' \
  "$(sha "$work/v1.img")" "$(sha "$work/v2.img")" "$(sha "$work/back.img")" >&2
step fvm rollback --undo mydata/trunk --yes
step fvm log mydata/trunk
step fvm volume list
step fvm branch
step fvm status
step fvm check
if command -v thin_check >/dev/null; then step thin_check "$FVM_HOME/pool/metadata"; fi

# A second instance on this machine, and replication to it (over ssh it is the same with
# a host: fvm remote add backup backup.example.com:/srv/fvm).
step fvm init --home "$work/backup" --name backup --size 1GiB
step fvm remote add backup "$work/backup"
step fvm push backup mydata/trunk                      # the whole volume, the first time
head -c 64K /dev/urandom | dd of="$work/v2.img" bs=64K seek=20 conv=notrunc status=none
step fvm volume import mydata/trunk "$work/v2.img"
step fvm push backup --dry-run                          # what would go: one block
step fvm push backup                                    # sends only that block
step fvm branch --remotes --home "$work/backup"         # read-only there: quickstart/mydata/trunk
step fvm branch mydata/restored --from quickstart/mydata/trunk --home "$work/backup"
step fvm volume export mydata/restored "$work/restored.img" --home "$work/backup"
fvm volume export mydata/trunk "$work/now.img" 2>/dev/null
printf 'first 4 MiB: trunk here %s, restored on backup %s\n' "$(sha "$work/now.img")" "$(sha "$work/restored.img")" >&2
step fvm check --home "$work/backup"
printf '\nquickstart: done (the instances in %s are removed on exit)\n' "$work" >&2
