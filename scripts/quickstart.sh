#!/usr/bin/env bash
# A tour of fvm on a throwaway instance home, each step printed before it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run -s build:ts
home=$(mktemp -d)/fvm-home
trap 'rm -rf "$(dirname "$home")"' EXIT
fvm() { node bin/fvm.js "$@"; }
bold=''; plain=''
if [ -t 2 ] && [ -z "${NO_COLOR+x}" ]; then bold=$'\033[1m'; plain=$'\033[0m'; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain" >&2; "$@"; }

step fvm --version
step fvm init --home "$home" --name quickstart
step fvm init --home "$home" --json || true
pool=$(dirname "$home")/pool
step fvm plumbing pool format --pool "$pool" --data-blocks 16384
step fvm plumbing thin create --pool "$pool" 1
step fvm plumbing thin snap --pool "$pool" 2 1
step fvm plumbing thin list --pool "$pool"
step fvm plumbing pool check --pool "$pool"
step fvm plumbing pool dump --pool "$pool"
if command -v thin_check >/dev/null; then step thin_check "$pool/metadata"; fi
step fvm --help
printf '\nquickstart: done (the instance in %s is removed on exit)\n' "$home" >&2
