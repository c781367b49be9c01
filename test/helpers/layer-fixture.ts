// The package-layering fixtures shared by test/layer/layer-cli.test.ts and the crash campaign's
// layering scenarios (tools/crash/layer-fixture.ts): the packages of a tiny composed base
// (filesystem, a busybox shell, liba, docker, iptables) and what gets layered on it (libvirt with a
// dependency, an owned file, a %config and scripts), and the base's treefile.

import type { FixturePackage } from './rpmbuild.ts';

export const FILESYSTEM: FixturePackage = {
  name: 'filesystem',
  version: '3.18',
  files: [
    { path: '/etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nvirt:x:107:107::/:/sbin/nologin\n' },
    { path: '/etc/group', content: 'root:x:0:\nvirt:x:107:\n' },
    { path: '/etc/os-release', content: 'NAME=Xylem\nID=xylem\nVERSION_ID=1\n' },
    { path: '/usr/lib/modules/6.1.0-x/vmlinuz', content: 'kernel image\n' },
  ],
};
export const BASESH = (busybox: string): FixturePackage => ({
  name: 'basesh',
  version: '1.35',
  arch: 'x86_64',
  provides: ['/bin/sh'],
  files: [
    { path: '/usr/bin/busybox', from: busybox, mode: 0o755 },
    ...['sh', 'echo', 'mkdir', 'touch', 'cat', 'true'].map((a) => ({ path: `/usr/bin/${a}`, type: 'symlink' as const, target: 'busybox' })),
    { path: '/bin', type: 'symlink', target: 'usr/bin' },
  ],
});
export const LIBA = (v: string): FixturePackage => ({ name: 'liba', version: v, files: [{ path: '/usr/lib/liba.so', content: `liba ${v}\n` }] });
export const DOCKER: FixturePackage = {
  name: 'docker',
  version: '1.0',
  files: [
    { path: '/usr/bin/docker', content: '#!/bin/sh\necho docker\n', mode: 0o755 },
    { path: '/etc/docker/daemon.json', content: '{}\n', attr: '%config(noreplace)' },
    { path: '/usr/share/docker', type: 'dir' },
    { path: '/usr/share/docker/README', content: 'docker\n' },
  ],
};
export const IPTABLES = (v: string): FixturePackage => ({ name: 'iptables', version: v, requires: ['liba'], files: [{ path: '/usr/sbin/iptables', content: `iptables ${v}\n`, mode: 0o755 }] });
export const LIBVIRT_LIBS: FixturePackage = { name: 'libvirt-libs', version: '9.0', files: [{ path: '/usr/lib/libvirt.so', content: 'libvirt libs\n' }] };
export const LIBVIRT: FixturePackage = {
  name: 'libvirt',
  version: '9.0',
  requires: ['libvirt-libs = 9.0-1', 'liba', '/bin/sh'],
  files: [
    { path: '/usr/bin/virsh', content: '#!/bin/sh\necho virsh\n', mode: 0o755 },
    { path: '/usr/share/libvirt/owned', content: 'virt\n', mode: 0o640, user: 'virt', group: 'virt' },
    { path: '/etc/libvirt/libvirtd.conf', content: 'listen_tls = 0\n', attr: '%config(noreplace)' },
    { path: '/var/lib/libvirt', type: 'dir' },
  ],
  scripts: {
    pre: 'echo "libvirt pre $1"',
    post: 'mkdir -p /usr/share/libvirt\necho "post $1" > /usr/share/libvirt/post-marker\ncat /etc/os-release > /usr/share/libvirt/seen-os-release\ntouch /var/should-fail 2>/dev/null && echo var-writable > /usr/share/libvirt/var || true',
    postun: 'echo postun > /usr/share/libvirt/postun-ran',
  },
};

/** The base treefile: `liba` pinned to `libaVersion` (the repos hold 1.0 and 2.0). */
export function baseTreefile(libaVersion: string): string {
  return `ref: testos/stable\nrepos: [fx]\npackages: [filesystem, basesh, liba-${libaVersion}-1, docker, iptables]\nselinux: false\nno-initramfs: true\n`;
}
