#!/usr/bin/env bash
# xylem vs the real ostree on the hot paths, in one run, on the same input and with identical
# arguments: archive / bare-user commits, incremental archive commit of a 2 %-changed tree,
# hardlink and copy checkouts, fsck of archive and bare-user repos; pulls of the archive repo into
# a fresh bare-user repo over loopback HTTP (full, and A→B object by object) and with pull-local;
# static delta A→B and from-scratch generation (delta size in the notes), offline apply of the
# same (ostree-made) A→B delta and an HTTP pull A→B through it; the package half's paired rows
# (tools/bench/pkg-rows.sh: rpm-xylem solve and compose vs dnf [+ ostree commit]); plus the cp -a, cp -al and sha256sum floors; and start-up (20 × `--version` and 20 × a small
# `rev-parse`, each with the Node launcher and as the compiled Bun executable (rows *-bun): the
# upstream test suite runs the CLI thousands of times). Prints a table (median wall time, peak RSS, ratio
# xylem/ostree, notes such as HTTP requests per pull) and keeps the logs in tmp/bench/. A command
# that fails is reported in its row; the script goes on.
# HTTP: one static server (ostree-trivial-httpd, else python3 -m http.server) on 127.0.0.1 serves
# the archive repo to both clients for the whole run; its log counts each client's requests. A
# second one serves a copy of it holding ostree's A→B delta (listed in its summary) for pull-http-delta.
#
# Env: BENCH_QUICK=1    tiny generated tree (~4 MB) instead of the 1.7 GB copy of /usr (seconds)
#      BENCH_SIZE=medium  a ~0.45 GB tree (/usr/lib/x86_64-linux-gnu files up to 26 MiB + /usr/lib/python3)
#      RUNS=N           runs per command (default 3; median reported)
#      BENCH_ONLY="commit-archive fsck-archive"   only these rows (floors are always measured)
#      BENCH_CACHE=DIR  where trees and prepared repos live (default /var/tmp/xylem-bench)
#      BENCH_TIMEOUT=S  per command (default 3600, quick 120)
#      BENCH_STRICT=1   exit 1 also when xylem fails or its output differs from ostree's
#      BENCH_BUN=0|1    also run every xylem row under Bun (the compiled executable dist/xylem-bun),
#                       printed as a second table with bun/ostree and bun/node (default 1, quick 0)
#      XYLEM=tools/bin/xylem  OSTREE=/usr/bin/ostree   the two CLIs
#      TRIVIAL_HTTPD=PATH  the static server (default ostree's helper; python3 -m http.server if absent)
# Exit status: 1 if preparing the input or a real-ostree row failed (the bench itself is broken).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/tools/bench
QUICK=${BENCH_QUICK:-0}
KIND=full; [ "$QUICK" = 1 ] && KIND=quick; [ "$QUICK" != 1 ] && [ "${BENCH_SIZE:-}" = medium ] && KIND=medium
PERF=${BENCH_CACHE:-/var/tmp/xylem-bench}/$KIND
RUNS=${RUNS:-3}
TIMEOUT=${BENCH_TIMEOUT:-$([ "$QUICK" = 1 ] && echo 120 || echo 3600)}
XYLEM=${XYLEM:-$ROOT/tools/bin/xylem}
XYLEM_BUN=${XYLEM_BUN:-}   # the CLI for rows named *-bun and the Bun column (default: dist/xylem-bun, rebuilt when older than dist/xylem.mjs)
BUN_COL=${BENCH_BUN:-$([ "$QUICK" = 1 ] && echo 0 || echo 1)}
OSTREE=${OSTREE:-/usr/bin/ostree}
RES=$ROOT/tmp/bench/$KIND
TS="--timestamp=2024-01-01T00:00:00Z"
TREE=$PERF/tree; TREE2=$PERF/tree2
RUNSD=$PERF/runs.$$   # per-run scratch folders: same file system as the tree and repos (hard links)
export LC_ALL=C

for tool in /usr/bin/time python3 "${OSTREE%% *}"; do
  command -v "$tool" > /dev/null || { echo "bench: $tool is missing (run: bash tools/setup.sh)" >&2; exit 1; }
done
rm -rf "$RES"; mkdir -p "$RES" "$RUNSD" "$PERF"
trap 'rm -rf "$RUNSD"' EXIT
log() { echo "bench: $*" >&2; }

# ---------------------------------------------------------------- input (made once, cached)
prepare() {
  if [ ! -f "$PERF/tree.ok" ]; then
    rm -rf "$TREE" "$TREE2" "$PERF"/repo-* "$PERF"/{repos,pull,delta-repo}.ok
    log "generating the $KIND tree in $TREE"
    if [ "$QUICK" = 1 ]; then python3 "$HERE/make-quick-tree.py" "$TREE" >&2 || return 1
    else PERF=$PERF TREE_SIZE=$KIND bash "$HERE/make-tree.sh" >&2 || return 1
    fi
    touch "$PERF/tree.ok"
  fi
  # tree2 is remade when mutate-tree.py changes
  local mutator; mutator=$(sha256sum < "$HERE/mutate-tree.py" | cut -c1-16)
  if [ ! -f "$PERF/tree2.ok" ] || [ "$(cat "$PERF/tree2.ok")" != "$mutator" ]; then
    rm -rf "$TREE2" "$PERF"/repo-* "$PERF"/{repos,pull,delta-repo}.ok
    local add_from=/usr/lib/python3.11
    [ -d "$add_from" ] || add_from=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
    log "making the 2 %-changed tree $TREE2"
    python3 "$HERE/mutate-tree.py" "$TREE" "$TREE2" "$add_from" > "$PERF/mutate.json" || return 1
    echo "$mutator" > "$PERF/tree2.ok"
  fi
  local version; version=$($OSTREE --version | tr -d '\n')
  if [ ! -f "$PERF/repos.ok" ] || [ "$(cat "$PERF/repos.ok")" != "$version" ]; then
    log "committing both trees with the real ostree (input repos for checkout, fsck, incremental commit)"
    rm -rf "$PERF"/repo-*
    local mode r
    for mode in archive bare-user; do
      r=$PERF/repo-$mode
      $OSTREE --repo="$r" init --mode=$mode || return 1
      $OSTREE --repo="$r" commit -b main -s v1 $TS --tree=dir="$TREE" > "$PERF/commitA" || return 1
      [ $mode = archive ] && { cp -a "$r" "$PERF/repo-archive-A" || return 1; }
      $OSTREE --repo="$r" commit -b main -s v2 $TS --tree=dir="$TREE2" > "$PERF/commitB" || return 1
    done
    echo "$version" > "$PERF/repos.ok"
  fi
  # pull / delta inputs: a bare-user repo at A (for A→B pulls and offline delta apply) and the
  # real ostree's A→B delta (both CLIs apply the same one)
  local stamp="$version $(cat "$PERF/commitA") $(cat "$PERF/commitB")"
  if [ ! -f "$PERF/pull.ok" ] || [ "$(cat "$PERF/pull.ok")" != "$stamp" ]; then
    log "preparing the pull and delta inputs with the real ostree"
    rm -rf "$PERF/repo-bare-user-A" "$PERF/delta-AB"
    $OSTREE --repo="$PERF/repo-bare-user-A" init --mode=bare-user || return 1
    $OSTREE --repo="$PERF/repo-bare-user-A" pull-local "$PERF/repo-archive-A" main > /dev/null || return 1
    mkdir -p "$PERF/delta-AB"
    $OSTREE --repo="$PERF/repo-archive" static-delta generate --from="$(cat "$PERF/commitA")" \
      --to="$(cat "$PERF/commitB")" --filename="$PERF/delta-AB/superblock" > "$PERF/delta-AB.log" 2>&1 || return 1
    echo "$stamp" > "$PERF/pull.ok"
  fi
  # the served repo for delta pulls: the archive repo (objects hard-linked) plus ostree's A→B
  # delta, listed in its summary
  if [ ! -f "$PERF/delta-repo.ok" ] || [ "$(cat "$PERF/delta-repo.ok")" != "$stamp" ]; then
    log "preparing the served repo with ostree's A→B delta"
    local d=$PERF/repo-archive-delta e
    rm -rf "$d"; mkdir "$d" || return 1
    for e in "$PERF/repo-archive"/*; do
      if [ "${e##*/}" = objects ]; then cp -al "$e" "$d/" || return 1; else cp -a "$e" "$d/" || return 1; fi
    done
    $OSTREE --repo="$d" static-delta generate --from="$(cat "$PERF/commitA")" --to="$(cat "$PERF/commitB")" > "$PERF/delta-repo.log" 2>&1 || return 1
    $OSTREE --repo="$d" summary -u || return 1
    echo "$stamp" > "$PERF/delta-repo.ok"
  fi
  # admin rows: bootable commits of both trees (plus a kernel, an initramfs and usr/etc) in a
  # bare repo that each run's throw-away sysroot links its objects from
  if [ ! -f "$PERF/boot.ok" ] || [ "$(cat "$PERF/boot.ok")" != "$stamp" ]; then
    log "preparing bootable commits (bare repo) for the admin rows"
    local bf=$PERF/bootfiles r=$PERF/repo-bare-boot
    rm -rf "$bf" "$r"; mkdir -p "$bf/usr/lib/modules/5.0" "$bf/usr/etc" || return 1
    head -c 8000000 /dev/urandom > "$bf/usr/lib/modules/5.0/vmlinuz"; head -c 30000000 /dev/urandom > "$bf/usr/lib/modules/5.0/initramfs.img"
    printf 'NAME=Bench\nPRETTY_NAME="Bench OS"\n' > "$bf/usr/etc/os-release"; echo local > "$bf/usr/etc/bench.conf"
    $OSTREE --repo="$r" init --mode=bare || return 1
    $OSTREE --repo="$r" commit -b boot $TS --tree=dir="$TREE" --tree=dir="$bf" > "$PERF/bootA" || return 1
    $OSTREE --repo="$r" commit -b boot $TS --tree=dir="$TREE2" --tree=dir="$bf" > "$PERF/bootB" || return 1
    echo "$stamp" > "$PERF/boot.ok"
  fi
}
selected() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }
# the package half's paired rows (xylem command vs a reference command): tools/bench/pkg-rows.sh
. "$HERE/pkg-rows.sh"
# one preparer at a time (several checkouts may share the cache)
exec 9> "$PERF/.lock"; flock 9
if ! prepare; then log "preparing the input failed"; exit 1; fi
if ! prepare_pkg; then log "preparing the package rows' input failed"; exit 1; fi
flock -u 9
A=$(cat "$PERF/commitA"); B=$(cat "$PERF/commitB")
log "tree: $(find "$TREE" -type f | wc -l) files, $(du -sh "$TREE" | cut -f1); commits A=${A:0:12} B=${B:0:12}; runs=$RUNS"

# ---------------------------------------------------------------- HTTP server (shared by both CLIs)
# Serves the archive repo (main = B; A's objects are there too) on 127.0.0.1 for the whole run.
# http_requests prints how many requests it has logged so far (empty when no server runs).
HTTPD_PIDS=(); HTTPD_LOGS=(); URL=; URL_DELTA=
TRIVIAL_HTTPD=${TRIVIAL_HTTPD:-/usr/libexec/libostree/ostree-trivial-httpd}
# start_httpd DIR NAME VAR: serves DIR, logging to $RES/httpd-NAME.log; sets $VAR to its URL
start_httpd() {
  local dir=$1 name=$2 var=$3 pf=$RUNSD/httpd-$2.port lg=$RES/httpd-$2.log i url= pid
  if [ -x "$TRIVIAL_HTTPD" ]; then
    "$TRIVIAL_HTTPD" -p "$pf" --log-file="$lg" "$dir" > "$RES/httpd-$name.stdout" 2>&1 < /dev/null &
    pid=$!
    for ((i = 0; i < 100; i++)); do [ -s "$pf" ] && break; sleep 0.1; done
    [ -s "$pf" ] && url=http://127.0.0.1:$(cat "$pf")
  else
    # a free port from the kernel, then python's threaded static server (logs requests to stderr)
    local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    python3 -m http.server --bind 127.0.0.1 --directory "$dir" "$port" > /dev/null 2> "$lg" < /dev/null &
    pid=$!
    for ((i = 0; i < 100; i++)); do
      python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port" 2> /dev/null && break
      sleep 0.1
    done
    url=http://127.0.0.1:$port
  fi
  HTTPD_PIDS+=("$pid"); HTTPD_LOGS+=("$lg")
  printf -v "$var" %s "$url"
  if [ -n "$url" ]; then log "serving $dir at $url (pid $pid, log $lg)"
  else log "the HTTP server for $dir did not start (see $RES/httpd-$name.stdout); its pull rows will fail"; fi
}
# http_requests prints how many requests the servers have logged so far (empty when none runs)
http_requests() {
  [ ${#HTTPD_LOGS[@]} -gt 0 ] || return 0
  # ostree-trivial-httpd: "… - serving /path"; python: "… \"GET /path HTTP/1.1\" 200 -"
  cat "${HTTPD_LOGS[@]}" 2> /dev/null | grep -cE ' - serving /|"(GET|HEAD) /' || true
}
stop_httpd() { local p; for p in "${HTTPD_PIDS[@]}"; do kill "$p" 2> /dev/null; done; HTTPD_PIDS=(); }
trap 'rm -rf "$RUNSD"; stop_httpd' EXIT

# ---------------------------------------------------------------- measuring
# timed TAG CMD: runs CMD (a bash string using $X, $R) under GNU time in a fresh run folder $R,
# after SETUP (untimed); X = the CLI. Appends "wall_s rss_kb" to $RES/TAG.times; the first run's stdout goes
# to $RES/TAG.out and the fingerprint (CHECK's stdout, or CMD's stdout) to $RES/TAG.check.
# Returns CMD's exit status; the last stderr line of a failure goes to $RES/TAG.error.
# NOTE (optional, first run): prints "label=value" for the notes column, to $RES/TAG.note.
# When the HTTP server logged requests during CMD, their number goes to $RES/TAG.requests.
timed() {
  local tag=$1 impl=$2 setup=$3 cmd=$4 check=$5 first=$6 note=${7:-} rc n0 n1
  local R; R=$(mktemp -d -p "$RUNSD")
  export X=$impl R OSTREE TREE TREE2 A B TS URL URL_DELTA
  if ! bash -c "$setup" > "$RES/$tag.setup.log" 2>&1; then
    echo "setup failed: $(grep -m1 -E '^error:|Error:' "$RES/$tag.setup.log" || tail -1 "$RES/$tag.setup.log")" > "$RES/$tag.error"
    rm -rf "$R"; return 1
  fi
  n0=$(http_requests)
  timeout -k 10 "$TIMEOUT" /usr/bin/time -f '%e %M' -o "$RES/$tag.time1" bash -c "$cmd" > "$RES/$tag.stdout" 2> "$RES/$tag.stderr" < /dev/null
  rc=$?
  n1=$(http_requests)
  if [ $rc != 0 ]; then
    # ostree style "error: …", or a JS exception's "…Error: …" line, else the last line
    local msg; msg=$(grep -m1 -E '^error:|Error:|^ERROR' "$RES/$tag.stderr")
    [ -n "$msg" ] || msg=$(grep -vE '^Command exited with non-zero status|^Node\.js v|^$' "$RES/$tag.stderr" | tail -1)
    [ $rc = 124 ] && msg="timed out after ${TIMEOUT}s"
    echo "rc=$rc: ${msg:0:200}" > "$RES/$tag.error"
  else
    tail -1 "$RES/$tag.time1" >> "$RES/$tag.times"
    [ -n "$n0" ] && [ "$n1" -gt "$n0" ] && echo $((n1 - n0)) >> "$RES/$tag.requests"
    if [ "$first" = 1 ]; then
      [ -z "$note" ] || OUT=$RES/$tag.stdout bash -c "$note" > "$RES/$tag.note" 2> /dev/null
      cp "$RES/$tag.stdout" "$RES/$tag.out"
      if [ -n "$check" ]; then OUT=$RES/$tag.stdout bash -c "$check" > "$RES/$tag.check" 2>&1; else cp "$RES/$tag.stdout" "$RES/$tag.check"; fi
    fi
  fi
  rm -rf "$R"
  return $rc
}
median() { sort -n | awk '{v[NR]=$1} END{if(NR==0) print ""; else print v[int((NR+1)/2)]}'; }
stat_of() {  # stat_of TAG → "median_wall median_rss_mib" or "" when no successful run
  [ -s "$RES/$1.times" ] || { echo ""; return; }
  local w m
  w=$(cut -d' ' -f1 < "$RES/$1.times" | median)
  m=$(cut -d' ' -f2 < "$RES/$1.times" | median)
  echo "$w $(awk -v k="$m" 'BEGIN{printf "%.0f", k/1024}')"
}

# ---------------------------------------------------------------- floors
declare -A FLOOR_CMD=(
  [cp-a]='cp -a "$TREE" "$R/copy"'
  [cp-al]='cp -al "$TREE" "$R/copy"'
  [sha256sum]='cd "$TREE" && find . -type f -print0 | xargs -0 sha256sum > /dev/null'
)
FLOORS="cp-a cp-al sha256sum"
for f in $FLOORS; do
  for ((i = 1; i <= RUNS; i++)); do timed "floor-$f" "" ":" "${FLOOR_CMD[$f]}" "" "$i" || break; done
done

# ---------------------------------------------------------------- rows
# name | floor | setup | command | check: prints the fingerprint compared between the two CLIs
# (empty: the command's stdout; "-": none; $OUT = file holding the command's stdout)
# (rows are one line each; only the check may contain "|"). NOTE[name]: prints "label=value" for
# the notes column (first run); pull rows also note the HTTP requests each CLI made (req=).
# checkout listing (kept in full, so the two can be diffed); the quick tree also compares contents
MANIFEST='cd "$R/co" && find . -type d -printf "%p d %m %U:%G\n" -o -printf "%p %y %m %U:%G %s %l\n" | sort'
[ "$QUICK" = 1 ] && MANIFEST="$MANIFEST"' && find . -type f -print0 | sort -z | xargs -0 -r md5sum'
ROWS=(
  'startup-version-x20|-|:|for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do $X --version > /dev/null; done|-'
  'startup-version-x20-bun|-|:|for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do $X --version > /dev/null; done|-'
  'startup-rev-parse-x20|-|:|for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do $X --repo="$PERF/repo-archive" rev-parse main; done|'
  'startup-rev-parse-x20-bun|-|:|for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do $X --repo="$PERF/repo-archive" rev-parse main; done|'
  'commit-archive|-|$X --repo="$R/repo" init --mode=archive|$X --repo="$R/repo" commit -b main -s v1 $TS --tree=dir="$TREE"|'
  'commit-bare-user|cp-a|$X --repo="$R/repo" init --mode=bare-user|$X --repo="$R/repo" commit -b main -s v1 $TS --tree=dir="$TREE"|'
  'commit-incremental-archive|-|cp -a "$PERF/repo-archive-A" "$R/repo"|$X --repo="$R/repo" commit -b main -s v2 $TS --tree=dir="$TREE2"|'
  'checkout-hardlink|cp-al|:|$X --repo="$PERF/repo-bare-user" checkout -U -H "$A" "$R/co"|'"$MANIFEST"
  'checkout-copy-bare-user|cp-a|:|$X --repo="$PERF/repo-bare-user" checkout -U -C "$A" "$R/co"|'"$MANIFEST"
  'checkout-archive|cp-a|:|$X --repo="$PERF/repo-archive" checkout -U --disable-cache "$A" "$R/co"|'"$MANIFEST"
  'fsck-archive|sha256sum|:|$X --repo="$PERF/repo-archive" fsck|grep -v "^fsck objects" "$OUT"'
  'fsck-bare-user|sha256sum|:|$X --repo="$PERF/repo-bare-user" fsck|grep -v "^fsck objects" "$OUT"'
)
# the repo a pull or delta apply produced, as the real ostree sees it: refs, fsck, object listing
REPO_CHECK='for r in $($OSTREE --repo="$R/repo" refs | sort); do echo "$r $($OSTREE --repo="$R/repo" rev-parse "$r")"; done; $OSTREE --repo="$R/repo" fsck 2>&1 | grep -v "^fsck objects"; cd "$R/repo/objects" && find . -type f -printf "%P %m %s\n" | sort'
# a bare-user repo at A in $R/repo: objects hard-linked (immutable, both CLIs write new objects
# through temporary files), the rest (config, refs) copied so neither CLI can touch the cache
CLONE_A='mkdir "$R/repo" && for e in "$PERF/repo-bare-user-A"/*; do if [ "${e##*/}" = objects ]; then cp -al "$e" "$R/repo/"; else cp -a "$e" "$R/repo/"; fi; done'
NEED_URL='if [ -z "$URL" ]; then echo "error: the HTTP server is not running"; exit 1; fi'
declare -A NOTE=(
  [delta-generate]='echo "delta_bytes=$(find "$R/delta" -type f -printf "%s\n" | awk "{s += \$1} END {print s}")"'
  [delta-generate-empty]='echo "delta_bytes=$(find "$R/delta" -type f -printf "%s\n" | awk "{s += \$1} END {print s}")"'
)
ROWS+=(
  'pull-http-full|-|'"$NEED_URL"' && $X --repo="$R/repo" init --mode=bare-user && $X --repo="$R/repo" remote add --no-gpg-verify bench "$URL"|$X --repo="$R/repo" pull bench main|'"$REPO_CHECK"
  'pull-http-incremental|-|'"$NEED_URL"' && '"$CLONE_A"' && $X --repo="$R/repo" remote add --no-gpg-verify bench "$URL"|$X --repo="$R/repo" pull bench main|'"$REPO_CHECK"
  'pull-local|-|$X --repo="$R/repo" init --mode=bare-user|$X --repo="$R/repo" pull-local "$PERF/repo-archive" main|'"$REPO_CHECK"
  # generation reads the archive repo and writes the delta to $R/delta; the check applies that
  # delta with the real ostree to a repo at A (so both CLIs' deltas must yield the same B)
  'delta-generate|-|mkdir "$R/delta"|$X --repo="$PERF/repo-archive" static-delta generate --from="$A" --to="$B" --filename="$R/delta/superblock"|'"$CLONE_A"' > /dev/null && $OSTREE --repo="$R/repo" static-delta apply-offline "$R/delta/superblock" && '"$REPO_CHECK"
  # both CLIs apply the same delta (made by the real ostree when preparing)
  'delta-apply-offline|-|'"$CLONE_A"'|$X --repo="$R/repo" static-delta apply-offline "$PERF/delta-AB/superblock"|'"$REPO_CHECK"
  # the from-scratch delta of B; the check applies it with the real ostree to an empty repo
  'delta-generate-empty|-|mkdir "$R/delta"|$X --repo="$PERF/repo-archive" static-delta generate --empty --to="$B" --filename="$R/delta/superblock"|$OSTREE --repo="$R/repo" init --mode=bare-user && $OSTREE --repo="$R/repo" static-delta apply-offline "$R/delta/superblock" && '"$REPO_CHECK"
  # A→B over HTTP from the served copy that holds ostree's A→B delta (both CLIs use it)
  'pull-http-delta|-|if [ -z "$URL_DELTA" ]; then echo "error: the HTTP server is not running"; exit 1; fi && '"$CLONE_A"' && $X --repo="$R/repo" remote add --no-gpg-verify bench "$URL_DELTA"|$X --repo="$R/repo" pull bench main|'"$REPO_CHECK"
)
# admin rows: a throw-away sysroot (made by ostree) whose bare repo links the prepared objects;
# deploy of A, and upgrade A→B (ref moved after ostree deployed A); compared by status + tree
SYSROOT_SETUP='export OSTREE_SYSROOT_DEBUG=mutable-deployments && mkdir "$R/sys" && $OSTREE admin init-fs "$R/sys" && $OSTREE admin --sysroot="$R/sys" os-init bench && rm -rf "$R/sys/ostree/repo" && mkdir "$R/sys/ostree/repo" && for e in "$PERF/repo-bare-boot"/*; do if [ "${e##*/}" = objects ]; then cp -al "$e" "$R/sys/ostree/repo/"; else cp -a "$e" "$R/sys/ostree/repo/"; fi; done && cat "$PERF/bootA" > "$R/sys/ostree/repo/refs/heads/boot" && cat "$PERF/bootB" > "$R/sys/ostree/repo/refs/heads/boot-b"'
SYSROOT_CHECK='$OSTREE admin --sysroot="$R/sys" status; cd "$R/sys/ostree/deploy/bench/deploy" && for d in *.0; do (cd "$d" && find . -printf "%p %y %m %U:%G %s %l\n" | sort | md5sum); done'
ROWS+=(
  'admin-deploy|cp-al|'"$SYSROOT_SETUP"'|OSTREE_SYSROOT_DEBUG=mutable-deployments $X admin --sysroot="$R/sys" deploy --os=bench --karg=root=LABEL=bench boot|'"$SYSROOT_CHECK"
  'admin-upgrade|cp-al|'"$SYSROOT_SETUP"' && $OSTREE admin --sysroot="$R/sys" deploy --os=bench --karg=root=LABEL=bench boot && cat "$PERF/bootB" > "$R/sys/ostree/repo/refs/heads/boot"|OSTREE_SYSROOT_DEBUG=mutable-deployments $X admin --sysroot="$R/sys" upgrade --os=bench|'"$SYSROOT_CHECK"
)
export PERF
for row in "${ROWS[@]}"; do
  IFS='|' read -r name _ <<< "$row"
  selected "$name" || continue
  if [[ $name == pull-http-delta ]]; then [ -n "$URL_DELTA" ] || start_httpd "$PERF/repo-archive-delta" delta URL_DELTA
  elif [[ $name == pull-http-* ]]; then [ -n "$URL" ] || start_httpd "$PERF/repo-archive" main URL; fi
done
# the compiled Bun single-file executable (tools/build-bun-exe.mjs), rebuilt when older than the bundle
BUN_EXE=${XYLEM_BUN:-$ROOT/dist/xylem-bun}
bun_exe() {
  if [ -z "$XYLEM_BUN" ] && { [ ! -x "$BUN_EXE" ] || [ "$ROOT/dist/xylem.mjs" -nt "$BUN_EXE" ]; }; then
    node "$ROOT/tools/build-bun-exe.mjs" >&2 || log "building $BUN_EXE failed; its rows fail"
  fi
}
# bun_column ROW: whether ROW also runs under Bun (start-up rows have their own *-bun twins)
bun_column() { [ "$BUN_COL" = 1 ] && [[ $1 != startup-* ]]; }
[ "$BUN_COL" = 1 ] && bun_exe
for row in "${ROWS[@]}"; do
  IFS='|' read -r name floor setup cmd check <<< "$row"
  note=${NOTE[$name]:-}
  selected "$name" || continue
  [ "$check" = - ] && check="echo -"
  log "$name"
  okO=1; okX=1; okB=1; ximpl=$XYLEM; impls="ostree xylem"
  # rows named *-bun run the CLI as the compiled Bun executable
  if [[ $name == *-bun ]]; then bun_exe; ximpl=$BUN_EXE; fi
  bun_column "$name" && impls="ostree xylem bun"
  for ((i = 1; i <= RUNS; i++)); do
    # rotate which CLI goes first so drift on a shared machine hits all alike
    order=$(echo $impls | awk -v k=$(( (i - 1) % $(wc -w <<< "$impls") )) '{for (j = 0; j < NF; j++) printf "%s ", $(((j + k) % NF) + 1)}')
    for impl in $order; do
      if [ $impl = ostree ] && [ $okO = 1 ]; then timed "$name.ostree" "$OSTREE" "$setup" "$cmd" "$check" "$i" "$note" || okO=0; fi
      if [ $impl = xylem ] && [ $okX = 1 ]; then timed "$name.xylem" "$ximpl" "$setup" "$cmd" "$check" "$i" "$note" || okX=0; fi
      if [ $impl = bun ] && [ $okB = 1 ]; then timed "$name.bun" "$BUN_EXE" "$setup" "$cmd" "$check" "$i" "$note" || okB=0; fi
    done
  done
done
run_paired
rm -rf "$RUNSD"
stop_httpd

# ---------------------------------------------------------------- report
# notes_of ROW → "req=O/X,delta_bytes=O/X" (median HTTP requests per pull; each CLI's note), or "-"
notes_of() {
  local out=() o x label
  if [ -s "$RES/$1.ostree.requests" ] || [ -s "$RES/$1.xylem.requests" ]; then
    o=$(cat "$RES/$1.ostree.requests" 2> /dev/null | median); x=$(cat "$RES/$1.xylem.requests" 2> /dev/null | median)
    out+=("req=${o:--}/${x:--}")
  fi
  if [ -s "$RES/$1.ostree.note" ] || [ -s "$RES/$1.xylem.note" ]; then
    label=$(cut -d= -f1 "$RES/$1.ostree.note" "$RES/$1.xylem.note" 2> /dev/null | head -1)
    o=$(cut -s -d= -f2 "$RES/$1.ostree.note" 2> /dev/null); x=$(cut -s -d= -f2 "$RES/$1.xylem.note" 2> /dev/null)
    out+=("$label=${o:--}/${x:--}")
  fi
  local IFS=,; echo "${out[*]:--}"
}
echo
echo "xylem vs ostree ($KIND tree: $(find "$TREE" -type f | wc -l) files, $(du -sh "$TREE" | cut -f1); median of $RUNS run(s); wall s / peak RSS MiB)"
printf '%-28s %9s %7s %9s %7s %13s   %-10s %8s %11s  %-11s %s\n' ROW ostree_s rss xylem_s rss xylem/ostree FLOOR floor_s xylem/floor same-output notes:ostree/xylem
for row in "${ROWS[@]}"; do
  IFS='|' read -r name floor _ _ check <<< "$row"
  selected "$name" || continue
  so=$(stat_of "$name.ostree"); sx=$(stat_of "$name.xylem")
  read -r wo mo <<< "${so:-FAIL -}"; read -r wx mx <<< "${sx:-FAIL -}"
  if [ -n "$so" ] && [ -n "$sx" ]; then ratio=$(awk -v a="$wx" -v b="$wo" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "inf" }')
  else ratio=FAIL; fi
  fw=-; rf=-
  if [ "$floor" != - ]; then
    sf=$(stat_of "floor-$floor"); fw=${sf%% *}; fw=${fw:-FAIL}
    [ -n "$sx" ] && [ -n "$sf" ] && rf=$(awk -v a="$wx" -v b="$fw" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "inf" }')
  else floor=-; fi
  same=-
  if [ -n "$so" ] && [ -n "$sx" ] && [ "$check" != - ]; then
    if cmp -s "$RES/$name.ostree.check" "$RES/$name.xylem.check"; then same=yes; else same=NO; fi
  fi
  printf '%-28s %9s %7s %9s %7s %13s   %-10s %8s %11s  %-11s %s\n' "$name" "$wo" "$mo" "$wx" "$mx" "$ratio" "$floor" "$fw" "$rf" "$same" "$(notes_of "$name")"
done | tee "$RES/table.txt"
report_paired | tee -a "$RES/table.txt"
# the Bun column: the same rows run by the compiled Bun executable
if [ "$BUN_COL" = 1 ]; then
  echo
  echo "xylem under Bun ($BUN_EXE, bun $("$ROOT/node_modules/.bin/bun" --version 2> /dev/null || bun --version 2> /dev/null)) vs ostree and vs xylem under Node (same runs)"
  printf '%-28s %9s %7s %11s %9s  %-11s\n' ROW bun_s rss bun/ostree bun/node same-output
  for row in "${ROWS[@]}"; do
    IFS='|' read -r name _ _ _ check <<< "$row"
    selected "$name" && bun_column "$name" || continue
    so=$(stat_of "$name.ostree"); sx=$(stat_of "$name.xylem"); sb=$(stat_of "$name.bun")
    read -r wo _ <<< "${so:-FAIL -}"; read -r wx _ <<< "${sx:-FAIL -}"; read -r wb mb <<< "${sb:-FAIL -}"
    ro=FAIL; rn=FAIL
    [ -n "$sb" ] && [ -n "$so" ] && ro=$(awk -v a="$wb" -v b="$wo" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "inf" }')
    [ -n "$sb" ] && [ -n "$sx" ] && rn=$(awk -v a="$wb" -v b="$wx" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "inf" }')
    same=-
    if [ -n "$so" ] && [ -n "$sb" ] && [ "$check" != - ]; then
      if cmp -s "$RES/$name.ostree.check" "$RES/$name.bun.check"; then same=yes; else same=NO; fi
    fi
    printf '%-28s %9s %7s %11s %9s  %-11s\n' "$name" "$wb" "$mb" "$ro" "$rn" "$same"
  done | tee "$RES/table-bun.txt"
  for row in "${ROWS[@]}"; do
    IFS='|' read -r name _ _ _ check <<< "$row"
    selected "$name" && bun_column "$name" || continue
    [ -s "$RES/$name.bun.times" ] || echo "  ! $name: bun $(cat "$RES/$name.bun.error" 2>/dev/null)"
    if [ -s "$RES/$name.ostree.times" ] && [ -s "$RES/$name.bun.times" ] && [ "$check" != - ] &&
       ! cmp -s "$RES/$name.ostree.check" "$RES/$name.bun.check"; then
      echo "  ! $name: xylem under Bun gives a result that differs from ostree's: diff $RES/$name.{ostree,bun}.check"
    fi
  done
fi
# verdicts, from the table
ostree_failed=$(awk 'NR > 1 && $2 == "FAIL"' "$RES/table.txt" | wc -l)
xylem_bad=$(awk 'NR > 1 && ($4 == "FAIL" || $10 == "NO")' "$RES/table.txt" | wc -l)
for f in $FLOORS; do
  s=$(stat_of "floor-$f"); printf 'floor %-10s %9s s %6s MiB\n' "$f" "${s% *}" "${s#* }"
done
for row in "${ROWS[@]}"; do
  IFS='|' read -r name _ _ _ check <<< "$row"
  selected "$name" || continue
  [ -s "$RES/$name.ostree.times" ] || echo "  ! $name: ostree $(cat "$RES/$name.ostree.error" 2>/dev/null)"
  [ -s "$RES/$name.xylem.times" ] || echo "  ! $name: xylem $(cat "$RES/$name.xylem.error" 2>/dev/null)"
  if [ -s "$RES/$name.ostree.times" ] && [ -s "$RES/$name.xylem.times" ] && [ "$check" != - ] &&
     ! cmp -s "$RES/$name.ostree.check" "$RES/$name.xylem.check"; then
    echo "  ! $name: xylem's result differs from ostree's: diff $RES/$name.{ostree,xylem}.check"
    diff "$RES/$name.ostree.check" "$RES/$name.xylem.check" | head -6 | sed 's/^/      /'
  fi
  o=$(cat "$RES/$name.ostree.requests" 2> /dev/null | median); x=$(cat "$RES/$name.xylem.requests" 2> /dev/null | median)
  [ -n "$o" ] && [ -n "$x" ] && [ "$x" -gt "$o" ] && echo "  ! $name: xylem made $x HTTP requests, ostree $o"
done
report_paired_problems
echo "logs: $RES"
[ "$ostree_failed" = 0 ] || { log "$ostree_failed row(s) failed with the real ostree: the benchmark is broken"; exit 1; }
if [ "${BENCH_STRICT:-0}" = 1 ] && [ "$xylem_bad" != 0 ]; then log "$xylem_bad row(s) failed or differ for xylem"; exit 1; fi
exit 0
