# Sourced by tools/bench/run.sh: the package half's rows. Unlike the ostree rows (one command line
# run by both CLIs), these pair a xylem command with a different reference command, measured and
# reported in the same table (the "ostree" columns hold the reference):
#   solve-60k          metadata load + solve on Debian's index as rpm-md (66k packages, made by
#                      make-solve-repo.ts, cached): `rpm-xylem compose tree --dry-run` (what rpm-ostree
#                      users run to see a transaction) vs `dnf --assumeno --installroot=EMPTY install`
#                      of the same packages (full bench only)
#   compose-full       the demo package set (tools/pkgset, cached) composed into a fresh archive
#                      repo vs `dnf --installroot=DIR install` of the same packages + `ostree commit`
#   compose-recompose  the same after ONE package got a new release (v1 composed untimed first) vs
#                      `dnf --installroot=DIR upgrade` + `ostree commit` (target: ≤ 0.2× compose-full)
#   layer-install      `rpm-xylem install grep` (one requested package, + libpcre2: 0.6 MB downloaded) onto a deployed base
#                      (demo-filesystem + demo-kernel of the set) vs `ostree admin deploy` of that base
#   layer-relayer-10   `rpm-xylem upgrade` re-layering ten requested packages (coreutils, grep, sed, …;
#                      cached, installed untimed first) onto a new base commit vs `ostree admin deploy` of
#                      the new base (targets: < 10 s each; both rows cost ~17 s in the quick bench)
# Both sides start from empty caches (fresh cachedir per run). The compose rows' fingerprint is the
# installed package list as Debian's rpm reads it from the result (rpmdb in the commit / installroot).
# Uses run.sh's timed, stat_of, median, log, selected and $RES, $RUNS, $PERF, $OSTREE, $TS.

RPM_XYLEM=${RPM_XYLEM:-$ROOT/tools/bin/rpm-xylem}
SOLVE_PKGS=${SOLVE_PKGS:-bash coreutils openssh-server python3 curl systemd vim-nox}
BENCH_ROOT=${BENCH_CACHE:-/var/tmp/xylem-bench}
PROWS_ALL="solve-60k compose-full compose-recompose layer-install layer-relayer-10"
PROWS_ON=${BENCH_PROWS:-$([ "$QUICK" = 1 ] && echo "compose-full compose-recompose layer-install layer-relayer-10" || echo "$PROWS_ALL")}  # BENCH_PROWS: the paired rows to consider (default: all; quick: all but solve-60k)
LAYER_PKGS="coreutils grep sed gzip findutils tar demo-hello demo-motd libgmp10 libattr1"
pselected() { [[ " $PROWS_ON " == *" $1 "* ]] && selected "$1"; }

# dnf with no system repos, configuration or network; $R/dnfcache per run
DNF_BASE='dnf -y --setopt=reposdir=/dev/null --setopt=cachedir="$R/dnfcache" --nogpgcheck --releasever=1 --forcearch=x86_64 --setopt=install_weak_deps=True'

prepare_pkg() {
  local need=0 r
  for r in $PROWS_ALL; do pselected "$r" && need=1; done
  [ $need = 1 ] || return 0
  for tool in dnf rpm rpmbuild createrepo_c dpkg-deb; do
    command -v $tool > /dev/null || { log "$tool is missing (run: bash tools/setup.sh)"; return 1; }
  done
  if pselected compose-full || pselected compose-recompose || pselected layer-install || pselected layer-relayer-10; then
    PKGSET=$(cd "$ROOT" && node --import tsx tools/pkgset/build.ts) || return 1
    local v
    for v in v1 v2; do
      mkdir -p "$PERF/compose-$v"
      printf '[pkgset]\nname=pkgset %s\nbaseurl=file://%s/%s/\ngpgcheck=0\nmetadata_expire=0\n' "$v" "$PKGSET" "$v" > "$PERF/compose-$v/pkgset.repo"
      printf 'ref: demo/x86_64/os\nrepos: [pkgset]\npackages: [demo-release]\nunits: [hello.service]\nselinux: false\nno-initramfs: true\n' > "$PERF/compose-$v/tf.yaml"
    done
    log "package set: $PKGSET ($(ls "$PKGSET/v1"/*.rpm | wc -l) packages, $(du -sh "$PKGSET/v1" | cut -f1))"
  fi
  if pselected layer-install || pselected layer-relayer-10; then
    # two base commits (os-release VERSION_ID 1 and 2) in one archive repo; the layered packages come from v1
    LAYER=$PERF/layer
    mkdir -p "$LAYER/repo-d"
    printf '[pkgset]\nname=pkgset\nbaseurl=file://%s/v1/\ngpgcheck=0\nmetadata_expire=0\n' "$PKGSET" > "$LAYER/repo-d/pkgset.repo"
    printf 'ref: demo/x86_64/os\nrepos: [pkgset]\npackages: [demo-filesystem, demo-kernel]\nselinux: false\nno-initramfs: true\nadd-files: [[os-release, /usr/lib/os-release]]\n' > "$LAYER/repo-d/base.yaml"
    $OSTREE --repo="$LAYER/repo" init --mode=archive || return 1
    local n
    for n in 1 2; do
      printf 'NAME=Demo\nID=demo\nVERSION_ID=%s\n' $n > "$LAYER/repo-d/os-release"
      (cd "$LAYER/repo-d" && "$RPM_XYLEM" compose tree --repo="$LAYER/repo" --cachedir="$LAYER/cache" base.yaml) > "$LAYER/compose$n.log" 2>&1 || { log "composing the layering base failed: $(tail -1 "$LAYER/compose$n.log")"; return 1; }
      $OSTREE --repo="$LAYER/repo" rev-parse demo/x86_64/os > "$LAYER/base$n" || return 1
    done
    LAYER_BASE1=$(cat "$LAYER/base1"); LAYER_BASE2=$(cat "$LAYER/base2")
    log "layering bases: $LAYER_BASE1 $LAYER_BASE2"
  fi
  if pselected solve-60k; then
    SOLVE_DIR=$BENCH_ROOT/solve-60k
    local stamp; stamp=$( (ls -l /var/lib/apt/lists/*_Packages* 2> /dev/null; cat "$HERE/make-solve-repo.ts" "$ROOT/tools/solve/debian-to-rpmmd.ts") | sha256sum | cut -c1-16)
    if [ ! -f "$SOLVE_DIR/repo.ok" ] || [ "$(cat "$SOLVE_DIR/repo.ok")" != "$stamp" ]; then
      log "converting Debian's package index into an rpm-md repo in $SOLVE_DIR/repo"
      mkdir -p "$SOLVE_DIR"
      (cd "$ROOT" && node --import tsx tools/bench/make-solve-repo.ts "$SOLVE_DIR/repo") > "$SOLVE_DIR/count" || return 1
      echo "$stamp" > "$SOLVE_DIR/repo.ok"
    fi
    printf '[debian]\nname=Debian index as rpm-md\nbaseurl=file://%s/repo/\ngpgcheck=0\n' "$SOLVE_DIR" > "$SOLVE_DIR/debian.repo"
    printf 'ref: solve\nrepos: [debian]\nselinux: false\npackages: [%s]\n' "$(echo $SOLVE_PKGS | sed 's/ /, /g')" > "$SOLVE_DIR/tf.yaml"
    log "solve repo: $(cat "$SOLVE_DIR/count") packages; request: $SOLVE_PKGS"
  fi
  export PKGSET SOLVE_DIR SOLVE_PKGS LAYER LAYER_BASE1 LAYER_BASE2 LAYER_PKGS OSTREE_SYSROOT_DEBUG=mutable-deployments
}

INIT_REPO='$OSTREE --repo="$R/repo" init --mode=archive'
PKG_CHECK='if [ -d "$R/root/usr" ]; then rpm -qa --root="$R/root" --qf "%{NEVRA}\n"; else $OSTREE --repo="$R/repo" checkout -U --subpath=/usr/share/rpm demo/x86_64/os "$R/db" > /dev/null && rpm -qa --dbpath="$R/db" --qf "%{NEVRA}\n"; fi | sort'
DNF_INSTALL_V1="$DNF_BASE"' --installroot="$R/root" --repofrompath=pkgset,file://$PKGSET/v1/ install demo-release > /dev/null && $OSTREE --repo="$R/repo" commit -b demo $TS --tree=dir="$R/root"'
XCOMPOSE='$X compose tree --repo="$R/repo" --cachedir="$R/cache"'
# a sysroot in $R/sys with base $1 deployed (by ostree) and the package set as the deployment's repo
SYSROOT_WITH='mkdir "$R/sys" && $OSTREE admin init-fs "$R/sys" > /dev/null && $OSTREE admin --sysroot="$R/sys" os-init demo && $OSTREE --repo="$R/sys/ostree/repo" pull-local "$LAYER/repo" $LAYER_BASE1 > /dev/null && $OSTREE --repo="$R/sys/ostree/repo" refs --create=demo/x86_64/os $LAYER_BASE1 && $OSTREE admin --sysroot="$R/sys" deploy --os=demo demo/x86_64/os > /dev/null && d=$(ls -d "$R"/sys/ostree/deploy/demo/deploy/*.0) && mkdir -p "$d/etc/yum.repos.d" && cp "$LAYER/repo-d/pkgset.repo" "$d/etc/yum.repos.d/"'
BASE2_PULLED='$OSTREE --repo="$R/sys/ostree/repo" pull-local "$LAYER/repo" $LAYER_BASE2 > /dev/null && $OSTREE --repo="$R/sys/ostree/repo" refs --create=demo/x86_64/os --force $LAYER_BASE2'
DEPLOY_REF='$OSTREE admin --sysroot="$R/sys" deploy --os=demo demo/x86_64/os'
# name | xylem setup | xylem command | reference setup | reference command | check ("-": none)
PROWS=(
  'solve-60k|'"$INIT_REPO"'|$X compose tree --dry-run --repo="$R/repo" --cachedir="$R/cache" "$SOLVE_DIR/tf.yaml"|mkdir "$R/root"|out=$('"$DNF_BASE"' --assumeno --installroot="$R/root" --repofrompath=debian,file://$SOLVE_DIR/repo/ install $SOLVE_PKGS 2>&1); rc=$?; printf "%s\n" "$out"; [ $rc = 1 ] && grep -q "^Operation aborted" <<< "$out"|-'
  'compose-full|'"$INIT_REPO"'|'"$XCOMPOSE"' "$PERF/compose-v1/tf.yaml"|'"$INIT_REPO"' && mkdir "$R/root"|'"$DNF_INSTALL_V1"'|'"$PKG_CHECK"
  'layer-install|'"$SYSROOT_WITH"'|$X install --sysroot="$R/sys" grep|'"$SYSROOT_WITH"'|'"$DEPLOY_REF"'|-'
  'layer-relayer-10|'"$SYSROOT_WITH"' && $X install --sysroot="$R/sys" $LAYER_PKGS > /dev/null && '"$BASE2_PULLED"'|$X upgrade --sysroot="$R/sys"|'"$SYSROOT_WITH"' && '"$BASE2_PULLED"'|'"$DEPLOY_REF"'|-'
  'compose-recompose|'"$INIT_REPO"' && '"$XCOMPOSE"' "$PERF/compose-v1/tf.yaml"|'"$XCOMPOSE"' "$PERF/compose-v2/tf.yaml"|'"$INIT_REPO"' && mkdir "$R/root" && '"$DNF_INSTALL_V1"'|'"$DNF_BASE"' --installroot="$R/root" --repofrompath=pkgset,file://$PKGSET/v2/ upgrade > /dev/null && $OSTREE --repo="$R/repo" commit -b demo $TS --tree=dir="$R/root"|'"$PKG_CHECK"
)
# packages in the transaction, from either tool's output: dnf "Install  148 Packages", rpm-xylem "Installing 149 packages:"
PNOTE_SOLVE='echo "pkgs=$(grep -oP "^Install\s+\K\d+(?= Packages)|^Installing \K\d+(?= packages)" "$OUT" | head -1)"'

run_paired() {
  local row name xsetup xcmd rsetup rcmd check note i impl okO okX
  for row in "${PROWS[@]}"; do
    IFS='|' read -r name xsetup xcmd rsetup rcmd check <<< "$row"
    pselected "$name" || continue
    [ "$check" = - ] && check="echo -"
    note=; [ "$name" = solve-60k ] && note=$PNOTE_SOLVE
    log "$name"
    okO=1; okX=1
    for ((i = 1; i <= RUNS; i++)); do
      for impl in $([ $((i % 2)) = 1 ] && echo "ostree xylem" || echo "xylem ostree"); do
        if [ $impl = ostree ] && [ $okO = 1 ]; then
          timed "$name.ostree" ref "$rsetup" "$rcmd" "$check" "$i" "$note" || okO=0
        fi
        if [ $impl = xylem ] && [ $okX = 1 ]; then timed "$name.xylem" "$RPM_XYLEM" "$xsetup" "$xcmd" "$check" "$i" "$note" || okX=0; fi
      done
    done
  done
}

# one table row per paired row, in run.sh's columns (the reference in the ostree columns)
report_paired() {
  local row name check so sx wo mo wx mx ratio same notes o x full re
  for row in "${PROWS[@]}"; do
    IFS='|' read -r name _ _ _ _ check <<< "$row"
    pselected "$name" || continue
    so=$(stat_of "$name.ostree"); sx=$(stat_of "$name.xylem")
    read -r wo mo <<< "${so:-FAIL -}"; read -r wx mx <<< "${sx:-FAIL -}"
    if [ -n "$so" ] && [ -n "$sx" ]; then ratio=$(awk -v a="$wx" -v b="$wo" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "inf" }')
    else ratio=FAIL; fi
    same=-
    if [ -n "$so" ] && [ -n "$sx" ] && [ "$check" != - ]; then
      if cmp -s "$RES/$name.ostree.check" "$RES/$name.xylem.check"; then same=yes; else same=NO; fi
    fi
    case $name in
      solve-60k)
        o=$(cut -s -d= -f2 "$RES/$name.ostree.note" 2> /dev/null); x=$(cut -s -d= -f2 "$RES/$name.xylem.note" 2> /dev/null)
        notes="ref=dnf-assumeno,pkgs=${o:--}/${x:--}" ;;
      compose-full) notes="ref=dnf-install+ostree-commit" ;;
      layer-install|layer-relayer-10) notes="ref=ostree-admin-deploy" ;;
      compose-recompose)
        full=$(stat_of compose-full.xylem); re=${sx%% *}
        notes="ref=dnf-upgrade+ostree-commit,vs_full=-"
        [ -n "$full" ] && [ -n "$re" ] && notes="ref=dnf-upgrade+ostree-commit,vs_full=$(awk -v a="$re" -v b="${full%% *}" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "inf" }')" ;;
    esac
    printf '%-28s %9s %7s %9s %7s %13s   %-10s %8s %11s  %-11s %s\n' "$name" "$wo" "$mo" "$wx" "$mx" "$ratio" - - - "$same" "$notes"
  done
}

# the paired rows' failures and differences, as run.sh reports its own
report_paired_problems() {
  local row name check
  for row in "${PROWS[@]}"; do
    IFS='|' read -r name _ _ _ _ check <<< "$row"
    pselected "$name" || continue
    [ -s "$RES/$name.ostree.times" ] || echo "  ! $name: reference $(cat "$RES/$name.ostree.error" 2> /dev/null)"
    [ -s "$RES/$name.xylem.times" ] || echo "  ! $name: xylem $(cat "$RES/$name.xylem.error" 2> /dev/null)"
    if [ -s "$RES/$name.ostree.times" ] && [ -s "$RES/$name.xylem.times" ] && [ "$check" != - ] &&
      ! cmp -s "$RES/$name.ostree.check" "$RES/$name.xylem.check"; then
      echo "  ! $name: xylem's package list differs from the reference's: diff $RES/$name.{ostree,xylem}.check"
      diff "$RES/$name.ostree.check" "$RES/$name.xylem.check" | head -6 | sed 's/^/      /'
    fi
  done
  if pselected compose-recompose; then
    local full re; full=$(stat_of compose-full.xylem); re=$(stat_of compose-recompose.xylem)
    [ -n "$full" ] && [ -n "$re" ] && awk -v a="${re%% *}" -v b="${full%% *}" 'BEGIN{ if (b > 0) printf "compose-recompose / compose-full (xylem): %.2f (target <= 0.20)\n", a/b }'
  fi
}
