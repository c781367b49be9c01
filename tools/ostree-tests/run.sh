#!/usr/bin/env bash
# Runs tests of Debian's `ostree-tests` suite (the upstream OSTree test suite) against xylem.
# The suite calls `ostree` from $PATH; we put tools/ostree-shim (an `ostree` that runs
# dist/xylem.mjs) first on PATH. Each test runs in its own empty working directory with a
# timeout; its TAP output is saved under the results folder and a table is printed.
#
# Usage: tools/ostree-tests/run.sh [options] [TEST...]
#   TEST        test file names as installed (test-commit-timestamp.sh, or without .sh);
#               default: the tests listed in tools/ostree-tests/expected.txt
#   --all       every test of the suite (except the few that touch the host, see UNSAFE below)
#   --real      run the real ostree (no shim), to compare
#   -j N        run N tests at once (default 1; 2 = both cores)
#   -t SECS     timeout per test (default 600)
#   -o DIR      results folder (default tmp/ostree-tests/<xylem|real>)
#   --keep      keep the working directories of failed tests (in the results folder)
#   --list      print the installed test names and exit
# Env: OSTREE_TESTS_EXPECTED=FILE reads the expected list from FILE instead of expected.txt.
# Verdicts: PASS (exit 0, no "not ok", as many results as the TAP plan `1..N` announces), SKIP (the
# test skipped itself as a whole: `1..0 # SKIP`), FAIL (non-zero exit, a "not ok", no plan, or a
# plan the results do not match), TIMEOUT.
# Exit status: 1 if any test listed in expected.txt ran and did not pass, or skipped without a
# `may-skip:` reason in expected.txt; 2 on usage errors or when the suite is not installed, else 0.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
EXPECTED_FILE=${OSTREE_TESTS_EXPECTED:-$ROOT/tools/ostree-tests/expected.txt}
SHIM_DIR="$ROOT/tools/ostree-shim"
# Tests that mount things on the host or need FUSE/udisks: only run when named explicitly.
UNSAFE="test-switchroot.sh test-rofiles-fuse.sh test-demo-buildsystem.sh test-repo-finder-mount-integration.sh"

jobs=1; timeout_s=600; mode=xylem; outdir=""; keep=0; all=0; list=0; tests=()
while [ $# -gt 0 ]; do
  case "$1" in
    --all) all=1 ;;
    --real) mode=real ;;
    -j) jobs=${2:?-j needs a number}; shift ;;
    -j*) jobs=${1#-j} ;;
    -t) timeout_s=${2:?-t needs seconds}; shift ;;
    -o) outdir=${2:?-o needs a folder}; shift ;;
    --keep) keep=1 ;;
    --list) list=1 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) tests+=("$1") ;;
  esac
  shift
done
case "$jobs" in ''|*[!0-9]*|0) echo "run.sh: -j needs a positive number" >&2; exit 2 ;; esac

libtest=$(dpkg -L ostree-tests 2>/dev/null | grep '/libtest.sh$' | head -1)
if [ -z "$libtest" ]; then
  echo "run.sh: the ostree-tests package is not installed (run: bash tools/setup.sh)" >&2
  exit 2
fi
T=$(dirname "$libtest")
installed_tests() {
  # descriptors list every test; the libexec folder also holds helpers and fixtures
  local d f
  d=$(dirname "$(dpkg -L ostree-tests | grep '/installed-tests/libostree/.*\.test$' | head -1)")
  for f in "$d"/*.test; do f=${f##*/}; echo "${f%.test}"; done
}
if [ "$list" = 1 ]; then installed_tests; exit 0; fi

expected_lines() {  # expected.txt without comments and blank lines: "NAME [may-skip: REASON]"
  [ -f "$EXPECTED_FILE" ] || return 0
  sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$EXPECTED_FILE" | grep -v '^$' || true
}
expected_tests() { expected_lines | awk '{print $1}'; }
declare -A EXPECTED=() MAY_SKIP=()
while read -r t rest; do
  [ -e "$T/$t" ] || { [ -e "$T/$t.sh" ] && t="$t.sh"; }
  EXPECTED[$t]=1
  case "$rest" in
    '') ;;
    may-skip:*[![:space:]]*) MAY_SKIP[$t]=${rest#may-skip:} ;;
    *) echo "run.sh: $EXPECTED_FILE: after $t only 'may-skip: REASON' may follow, not: $rest" >&2; exit 2 ;;
  esac
done < <(expected_lines)

if [ "$all" = 1 ]; then
  while read -r t; do
    case " $UNSAFE " in *" $t "*) ;; *) tests+=("$t") ;; esac
  done < <(installed_tests)
elif [ ${#tests[@]} -eq 0 ]; then
  while read -r t; do tests+=("$t"); done < <(expected_tests)
  if [ ${#tests[@]} -eq 0 ]; then
    echo "run.sh: $EXPECTED_FILE lists no tests yet; name tests on the command line or use --all"
    exit 0
  fi
fi
# normalise names: accept paths and names without .sh
for i in "${!tests[@]}"; do
  t=${tests[$i]##*/}
  [ -e "$T/$t" ] || { [ -e "$T/$t.sh" ] && t="$t.sh"; }
  [ -e "$T/$t" ] || { echo "run.sh: no such test in $T: ${tests[$i]}" >&2; exit 2; }
  tests[$i]=$t
done

if [ "$mode" = xylem ]; then
  if [ ! -f "$ROOT/dist/xylem.mjs" ]; then
    echo "run.sh: dist/xylem.mjs is missing; build it first with: npm run build:cli" >&2
    exit 2
  fi
  TEST_PATH="$SHIM_DIR:$PATH"
  if [ "$(PATH=$TEST_PATH command -v ostree)" != "$SHIM_DIR/ostree" ]; then
    echo "run.sh: $SHIM_DIR/ostree is not the first ostree on PATH (is it executable?)" >&2
    exit 2
  fi
else
  # the real ostree: drop our shim from PATH in case the caller put it there
  TEST_PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$SHIM_DIR" | paste -sd: -)
fi
[ -n "$outdir" ] || outdir="$ROOT/tmp/ostree-tests/$mode"
rm -rf "$outdir"; mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
echo "ostree-tests: ${#tests[@]} test(s), mode=$mode ($(PATH=$TEST_PATH command -v ostree)), jobs=$jobs, timeout=${timeout_s}s, results in $outdir"

# run_one TEST: runs it and writes $outdir/TEST.{tap,err,status}
run_one() {
  local t=$1 w rc start end
  w=$(mktemp -d "${TMPDIR:-/tmp}/ostree-test.XXXXXX")
  start=$(date +%s)
  ( cd "$w" && exec timeout -k 10 "$timeout_s" env PATH="$TEST_PATH" G_TEST_SRCDIR="$T" G_TEST_BUILDDIR="$T" "$T/$t" ) \
    > "$outdir/$t.tap" 2> "$outdir/$t.err" < /dev/null
  rc=$?
  end=$(date +%s)
  echo "$rc $((end - start))" > "$outdir/$t.status"
  if [ "$rc" != 0 ] && [ "$keep" = 1 ]; then mv "$w" "$outdir/$t.workdir"; else rm -rf "$w"; fi
}

# summarize TEST: prints "verdict ok notok skip plan secs rc first-failure"
summarize() {
  local t=$1 tap=$outdir/$1.tap rc secs ok notok skip plan verdict first results
  read -r rc secs < "$outdir/$t.status"
  # TAP keywords are lower case ("OK closing connection" from gpg-connect-agent is not a
  # result); some tests write "ok, text"
  ok=$(grep -cE '^ok([^[:alnum:]_]|$)' "$tap"); skip=$(grep -cE '^ok([^[:alnum:]_]|$).*#[[:space:]]*[Ss][Kk][Ii][Pp]' "$tap")
  ok=$((ok - skip)); notok=$(grep -cE '^not ok([^[:alnum:]_]|$)' "$tap")
  plan=$(grep -oE '^1\.\.[0-9]+' "$tap" | head -1); plan=${plan#1..}; plan=${plan:-?}
  first=$(grep -m1 -E '^not ok([^[:alnum:]_]|$)' "$tap")
  # a dying test reports on stderr; take the last line that is not shell tracing or the
  # gpg-agent chatter of the harness's exit trap
  [ -n "$first" ] || [ "$rc" = 0 ] ||
    first=$(grep -vE '^(\+|#|$)|^(gpg-connect-agent|gpg-agent|gpg): |^OK closing connection' "$outdir/$t.err" | tail -1)
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then verdict=TIMEOUT; first="timed out after ${timeout_s}s${first:+; $first}"
  elif [ "$rc" != 0 ] || [ "$notok" != 0 ]; then verdict=FAIL
  elif grep -qiE '^1\.\.0([^0-9]|$).*#[[:space:]]*skip' "$tap"; then verdict=SKIP; first=$(grep -m1 -E '^1\.\.0' "$tap")
  elif [ "$plan" = '?' ]; then verdict=FAIL; first="no TAP plan (1..N) in the output"
  elif results=$((ok + skip + notok)); [ "$results" != "$plan" ]; then
    verdict=FAIL; first="TAP plan 1..$plan but $results result(s)"
  else verdict=PASS
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$verdict" "$ok" "$notok" "$skip" "$plan" "$secs" "$rc" "${first:0:160}"
}

running=0
for t in "${tests[@]}"; do
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
  { run_one "$t"; IFS=$'\t' read -r v ok notok skip plan secs rc _ < <(summarize "$t")
    printf '  %-7s %-45s %4ss  ok=%s not-ok=%s skip=%s\n' "$v" "$t" "$secs" "$ok" "$notok" "$skip"; } &
  running=$((running + 1))
done
wait

{
  printf '%-44s %-8s %3s %4s %6s %4s %5s %5s  %s\n' TEST RESULT RC OK NOT-OK SKIP PLAN SECS "FIRST FAILURE"
  for t in "${tests[@]}"; do
    IFS=$'\t' read -r v ok notok skip plan secs rc first < <(summarize "$t")
    mark=" "; [ -n "${EXPECTED[$t]:-}" ] && mark="*"
    # a listed test that skips itself fails the run unless expected.txt says why it may
    [ "$v" = SKIP ] && [ -n "${EXPECTED[$t]:-}" ] && [ -n "${MAY_SKIP[$t]:-}" ] && first="may skip:${MAY_SKIP[$t]}; $first"
    printf '%-44s %-8s %3s %4s %6s %4s %5s %5s  %s\n' "$mark$t" "$v" "$rc" "$ok" "$notok" "$skip" "$plan" "$secs" "$first"
  done
} | tee "$outdir/summary.txt"
n_pass=$(grep -cE '^[* ]test[^ ]* +PASS ' "$outdir/summary.txt"); n_all=${#tests[@]}
n_skip=$(grep -cE '^[* ]test[^ ]* +SKIP ' "$outdir/summary.txt")
failed_expected=$(grep -cE '^\*test[^ ]* +(FAIL|TIMEOUT) ' "$outdir/summary.txt")
skipped_expected=$(grep -E '^\*test[^ ]* +SKIP ' "$outdir/summary.txt" | grep -cv '  may skip:')
echo "ostree-tests ($mode): $n_pass of $n_all passed, $n_skip skipped; * = listed in expected.txt; $failed_expected expected test(s) failed, $skipped_expected skipped without a may-skip reason"
[ "$failed_expected" = 0 ] && [ "$skipped_expected" = 0 ]
