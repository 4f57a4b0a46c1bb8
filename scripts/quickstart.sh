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
step fvm --help
printf '\nquickstart: done (the instance in %s is removed on exit)\n' "$home" >&2
