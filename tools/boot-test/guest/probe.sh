#!/bin/sh
# Boot test probe (runs inside the guest). Writes `key value` lines between XYLEM-CI-BEGIN and
# XYLEM-CI-END to /dev/ttyS1, which the host reads as probe.log. The step to run comes from the
# kernel command line (xylem.ci=STEP); the updater runs from /var/lib/xylem under Node or Bun.
out=/dev/ttyS1
X=/var/lib/xylem
say() { printf '%s\n' "$*" > $out; }
run() { # run a command, copy its output to the probe channel prefixed, return its status
  label=$1; shift
  t0=$(date +%s%N)
  "$@" > /tmp/ci-out 2>&1; rc=$?
  sed "s/^/$label| /" /tmp/ci-out > $out
  say "took $label $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  say "rc $label $rc"
  return $rc
}
cmdline=$(cat /proc/cmdline)
step=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^xylem\.ci=//p')
say XYLEM-CI-BEGIN
# the deployment / is really mounted from (booting.md §3): /dev/vda[/ostree/deploy/OS/deploy/CSUM.SERIAL]
src=$(findmnt -n -o SOURCE /)
dep=$(printf '%s' "$src" | sed -n 's|.*/deploy/[^/]*/deploy/\([0-9a-f]\{64\}\.[0-9]*\)\]$|\1|p')
say "booted ${dep:-unknown} cmdline=$cmdline"
say "root-source $src"
say "ostree-booted $([ -e /run/ostree-booted ] && echo yes || echo no)"
say "version $(cat /usr/lib/xylem-ci/version 2>/dev/null)"
say "etc-marker $(cat /etc/xylem-ci-marker 2>/dev/null || echo none)"
mkdir -p /var/lib/xylem-ci && echo "$dep" >> /var/lib/xylem-ci/boots
say "var-boots $(wc -l < /var/lib/xylem-ci/boots)"
say "failed-units $(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
# the real ostree reads the sysroot xylem wrote (a cheap C binary: the oracle on every boot)
run ostree-status ostree admin status
case $step in
  upgrade-node)
    run status-node $X/node $X/dist/rpm-xylem/rpm-xylem.mjs status
    run upgrade-node $X/node $X/dist/rpm-xylem/rpm-xylem.mjs upgrade
    # a change to /etc after staging: finalization at shutdown must carry it into the new deployment
    echo "written-after-staging-in-$dep" > /etc/xylem-ci-marker
    run staged-bun $X/bun $X/dist/rpm-xylem/rpm-xylem.mjs status -v
    ;;
  upgrade-bun)
    run upgrade-bun $X/bun $X/dist/rpm-xylem/rpm-xylem.mjs upgrade
    run staged-node $X/node $X/dist/rpm-xylem/rpm-xylem.mjs status -v
    ;;
  rollback-bun)
    run rollback-bun $X/bun $X/dist/rpm-xylem/rpm-xylem.mjs rollback
    ;;
  power-stage|power-finalize)
    # power-loss campaign (tools/boot-test/power-loss.mjs): the host cuts the machine off at a
    # seeded time after `mark upgrade-start` (pull + stage) or during the shutdown that finalizes
    sync
    say "mark upgrade-start"
    run upgrade-node $X/node $X/dist/rpm-xylem/rpm-xylem.mjs upgrade
    say "mark upgrade-done"
    ;;
  power-check)
    # after a cut: the real ostree must accept the sysroot, and the upgrade must succeed again
    run ostree-fsck ostree fsck --repo=/sysroot/ostree/repo
    run upgrade-again $X/node $X/dist/rpm-xylem/rpm-xylem.mjs upgrade
    run status-after ostree admin status
    ;;
esac
sync
say XYLEM-CI-END
systemctl poweroff --no-block
