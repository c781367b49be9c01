#!/usr/bin/env bash
# Installs everything xylem's build, tests and benchmarks need on a fresh Debian 12 machine:
# the Debian packages (the real ostree and its test suite are the oracles) and the npm
# dependencies (npm ci). Used by .ci/run and by the README's set-up commands.
# Run as root, or as a user with sudo. SETUP_SKIP_APT=1 skips the Debian part.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PACKAGES=(
  ostree ostree-tests      # the real CLI 2022.7 + the upstream test suite (and ostree-trivial-httpd)
  gir1.2-ostree-1.0 gjs    # the suite's gjs tests
  gnupg attr xz-utils tar cpio openssl strace   # tools the suite's harness calls
  python3 python3-gi python3-yaml               # GLib oracle (GVariant) + YAML parsing in tests
  time                     # /usr/bin/time for peak RSS in tools/bench
  e2fsprogs                # chattr: the immutable bit on deployment roots (runtimes/posix/immutable.ts)
  parallel                 # GNU parallel: the suite's test-admin-locking.sh (concurrent admin deploys)
  chromium                 # headless browser for test/browser (driven by playwright-core)
  # the package half's oracles and parts: rpm (rpmbuild, rpmsign, rpmkeys, rpm2cpio), rpm-md repos,
  # dnf and libsolv (solver oracles), alien, the script sandbox (tools/pkgset repackages Debian
  # binaries as RPMs with dpkg-deb + rpmbuild, no extra package),
  # SELinux labelling oracle (matchpathcon + refpolicy's file_contexts), payload compressors
  rpm rpm2cpio createrepo-c dnf libsolv-tools alien bubblewrap selinux-utils selinux-policy-default
  zstd bzip2
  busybox-static           # a static shell + coreutils for the script-sandbox tests' tiny roots
  dracut-core ostree-boot  # compose's initramfs: the real dracut (+ lsinitrd) and ostree's dracut module
  lz4 sqlite3 file         # apt's lz4 package lists (the solver's Debian-graph test), rpmdb and payload oracles
  qemu-system-x86 mmdebstrap   # the real boot (tools/boot-test: mmdebstrap'd Debian booted in qemu; debugfs is e2fsprogs')
)

if [ "${SETUP_SKIP_APT:-0}" != 1 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "setup: apt-get install ${APT_PACKAGES[*]}"
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${APT_PACKAGES[@]}"
fi

echo "setup: npm ci"
npm ci --no-audit --no-fund
echo "setup: done (node $(node --version), $(ostree --version | awk -F"'" '/Version:/{print "ostree " $2; exit}'))"
