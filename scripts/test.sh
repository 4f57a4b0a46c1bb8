#!/usr/bin/env bash
# The one test command: installs the system tools the tests use (root on Debian; else
# those tests are skipped and listed), builds, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-tools.sh
npm run -s build:ts
if [ $# -eq 0 ]; then set -- 'test/**/*.test.ts'; fi
exec npx mocha "$@"
