#!/usr/bin/env bash
# Runs the per-runtime smoke test (test/runtimes/smoke.mjs by default, or the files given
# as arguments) under Node (through tsx), Bun and Deno from node_modules (devDependencies).
# Fails if any runtime fails; a missing runtime is a failure when CI=true, a warning otherwise.
set -u
cd "$(dirname "$0")/.."

files=("$@")
[ ${#files[@]} -eq 0 ] && files=(test/runtimes/smoke.mjs)

# bun's npm package swaps in the real binary from its postinstall script; when scripts were
# skipped, the platform package still holds a runnable binary.
find_bun() {
  local c
  for c in node_modules/.bin/bun node_modules/@oven/bun-linux-*/bin/bun node_modules/@oven/bun-darwin-*/bin/bun; do
    if [ -x "$c" ] && "$c" --version >/dev/null 2>&1; then echo "$c"; return 0; fi
  done
  return 1
}

find_deno() {
  local c
  for c in node_modules/.bin/deno; do
    if [ -x "$c" ] && "$c" --version >/dev/null 2>&1; then echo "$c"; return 0; fi
  done
  return 1
}

passed=()
failed=()
missing=()

run() {
  local name=$1
  shift
  echo "=== runtime smoke: $name ($*)"
  if "$@"; then passed+=("$name"); else failed+=("$name"); fi
}

if command -v node >/dev/null 2>&1 && [ -e node_modules/tsx ]; then
  run "node $(node --version)" node --import tsx --test "${files[@]}"
else
  missing+=(node)
fi

if bun=$(find_bun); then
  # bun test wants explicit ./ paths for files outside its default patterns.
  run "bun $("$bun" --version)" "$bun" test "${files[@]/#/./}"
else
  missing+=(bun)
fi

if deno=$(find_deno); then
  # tsc is the type checker of record; Deno runs the code as is.
  run "deno $("$deno" --version | head -1 | cut -d' ' -f2)" "$deno" test -A --no-check "${files[@]}"
else
  missing+=(deno)
fi

echo "=== runtime smoke summary: passed [${passed[*]:-}] failed [${failed[*]:-}] missing [${missing[*]:-}]"
if [ ${#failed[@]} -gt 0 ]; then exit 1; fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "runtime smoke: missing runtimes under CI=true (run npm ci)" >&2
    exit 1
  fi
  echo "runtime smoke: warning: skipped missing runtimes" >&2
fi
exit 0
