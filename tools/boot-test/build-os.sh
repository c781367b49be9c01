#!/usr/bin/env bash
# Builds the small bootable Debian OS the boot test deploys, as an OSTree-style tree (booting.md
# §6.1–6.3): mmdebstrap of bookworm with systemd, the cloud kernel, dracut and Debian's ostree-boot
# (whose dracut module puts ostree-prepare-root in the initramfs), then turned into what a commit
# holds: /etc in /usr/etc, kernel and initramfs in usr/lib/modules/$kver/, an empty /var, the
# toplevel links into /var and /sysroot. Cached by the package list and this script's own
# checksum in $XYLEM_BOOT_CACHE (default /var/cache/xylem-boot), so CI builds it once per machine.
# Prints the tree's path on stdout; everything else goes to stderr.
set -euo pipefail

PACKAGES=systemd-sysv,udev,dbus,linux-image-cloud-amd64,dracut,ostree,ostree-boot,e2fsprogs,iproute2,libstdc++6,python3-minimal
MIRROR=${XYLEM_BOOT_MIRROR:-http://deb.debian.org/debian}
cache=${XYLEM_BOOT_CACHE:-/var/cache/xylem-boot}
pkgkey=$(echo "$PACKAGES $MIRROR" | sha256sum | cut -c1-16)
key=$( (echo "$pkgkey"; cat "${BASH_SOURCE[0]}") | sha256sum | cut -c1-16)
out=$cache/os-$key
rootfs=$cache/rootfs-$pkgkey.tar
if [ -f "$out/.complete" ]; then echo "$out/tree"; exit 0; fi

for tool in mmdebstrap tar; do
  command -v $tool >/dev/null || { echo "build-os: $tool is missing (tools/setup.sh installs it)" >&2; exit 1; }
done
mkdir -p "$cache"
# one builder at a time (the boot test and the real-dracut test may both ask for the tree)
exec 9> "$cache/.build.lock"; flock 9
if [ -f "$out/.complete" ]; then echo "$out/tree"; exit 0; fi
if [ ! -f "$rootfs" ]; then
  echo "build-os: mmdebstrap bookworm ($PACKAGES) into $rootfs (a few minutes, once per machine)" >&2
  nice -n 19 mmdebstrap --quiet --variant=minbase --include="$PACKAGES" bookworm "$rootfs.tmp" \
    "deb $MIRROR bookworm main" >&2
  mv "$rootfs.tmp" "$rootfs"
fi
rm -rf "$out"; mkdir -p "$out"
t=$out/tree
mkdir "$t"
tar -C "$t" --numeric-owner --xattrs -xf "$rootfs"

kver=$(ls "$t/usr/lib/modules" | head -n1)
[ -n "$kver" ] && [ -f "$t/boot/vmlinuz-$kver" ] || { echo "build-os: no kernel in the tree" >&2; exit 1; }
# Debian's dracut (059) builds generic initramfs images, and ostree-boot's dracut.conf.d asks for
# the ostree module: the image mmdebstrap made must already hold ostree-prepare-root (no early
# microcode cpio: the cloud kernel has no microcode loader, so the image is one compressed cpio).
listing=$(zcat -f "$t/boot/initrd.img-$kver" | cpio -it --quiet 2>/dev/null || true)
if ! grep -q 'usr/lib/ostree/ostree-prepare-root' <<<"$listing"; then
  echo "build-os: the initramfs lacks ostree-prepare-root (dracut's ostree module)" >&2; exit 1
fi
mv "$t/boot/vmlinuz-$kver" "$t/usr/lib/modules/$kver/vmlinuz"
mv "$t/boot/initrd.img-$kver" "$t/usr/lib/modules/$kver/initramfs.img"
chmod 0644 "$t/usr/lib/modules/$kver/initramfs.img"
rm -rf "$t/boot"/* "$t"/vmlinuz* "$t"/initrd.img*

# /etc is the default configuration in /usr/etc; machine-id present and empty (booting.md §8.5)
mv "$t/etc" "$t/usr/etc"
: > "$t/usr/etc/machine-id"
rm -rf "$t/var" "$t/home" "$t/opt" "$t/srv" "$t/mnt" "$t/root" "$t/media" "$t/tmp" "$t/usr/local"
mkdir -m 0755 "$t/var" "$t/sysroot"; mkdir -p -m 0755 "$t/boot"
for d in dev proc sys run; do rm -rf "${t:?}/$d"; mkdir -m 0755 "$t/$d"; done
mkdir -m 1777 "$t/tmp"
ln -s var/home "$t/home"; ln -s var/opt "$t/opt"; ln -s var/srv "$t/srv"; ln -s var/mnt "$t/mnt"
ln -s var/roothome "$t/root"; ln -s run/media "$t/media"; ln -s ../var/usrlocal "$t/usr/local"
ln -s sysroot/ostree "$t/ostree"
cat > "$t/usr/lib/tmpfiles.d/xylem-boot-os.conf" <<'EOF'
# The directories the toplevel links of an OSTree deployment point into (created on every boot)
d /var/home 0755 root root -
d /var/roothome 0700 root root -
d /var/opt 0755 root root -
d /var/srv 0755 root root -
d /var/mnt 0755 root root -
d /var/usrlocal 0755 root root -
d /run/media 0755 root root -
EOF
# DHCP on the virtio NIC (qemu user networking: the host is 10.0.2.2)
mkdir -p "$t/usr/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' > "$t/usr/etc/systemd/network/50-dhcp.network"
mkdir -p "$t/usr/etc/systemd/system/multi-user.target.wants"
ln -sf /lib/systemd/system/systemd-networkd.service "$t/usr/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
echo "$kver" > "$out/kver"
touch "$out/.complete"
echo "build-os: done ($(du -sh "$t" | cut -f1), kernel $kver)" >&2
echo "$t"
