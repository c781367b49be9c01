#!/bin/sh
# Runs a command "booted" into a deployment, inside a private mount + pid namespace made by the
# caller (unshare -m -p -f): the deployment D becomes /, with the sysroot S at /sysroot, its boot/
# at /boot, the folder R as /run, the host's /usr (so node and ostree run) and M at /mnt.
# The namespace's init is this sh and the command runs as its child, so a process that SIGKILLs
# itself is really killed (the kernel ignores signals an init sends itself without a handler).
# Used by the crash campaign (tools/crash/proc.mjs) and the booted tests (test/sysroot/booted.ts).
#   run-booted.sh SYSROOT DEPLOYMENT RUNDIR MNT COMMAND...
set -e
S=$1; D=$2; R=$3; M=$4; shift 4
mount --bind /usr "$D/usr"
mount --bind "$S" "$D/sysroot"
mount --bind "$S/boot" "$D/boot"
mount --bind "$R" "$D/run"
mount -t proc proc "$D/proc"
mount --bind /dev "$D/dev"
mount --bind "$M" "$D/mnt"
set +e
chroot "$D" "$@"
exit $?
