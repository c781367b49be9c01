// Fixture packages the compose tests share: small spec-built RPMs that exercise rpm-ostree's path
// translations (etc, boot, opt, /var and /run), hardlinks, symlinks, file caps, docs and scripts.

import type { FixturePackage } from '../helpers/rpmbuild.ts';

export const EDGE: FixturePackage = {
  name: 'edge',
  version: '1.0',
  release: '1',
  files: [
    { path: '/usr/bin/edge', content: '#!/bin/sh\necho edge\n', mode: 0o755 },
    { path: '/usr/bin/edge-link', type: 'hardlink', target: '/usr/bin/edge', mode: 0o755 },
    { path: '/usr/bin/edge-sym', type: 'symlink', target: 'edge' },
    { path: '/usr/sbin/edgeping', content: 'ping', mode: 0o755, attr: '%caps(cap_net_raw=ep)' },
    { path: '/usr/share/doc/edge/README', content: 'read me\n', attr: '%doc' },
    { path: '/usr/share/edge/empty', content: '' },
    { path: '/usr/share/edge/owned', content: 'mine\n', mode: 0o640, user: 'edge', group: 'edge' },
    { path: '/etc/edge.conf', content: 'key=value\n', attr: '%config(noreplace)' },
    { path: '/etc/edge.d', type: 'dir', mode: 0o750 },
    { path: '/var/lib/edge', type: 'dir', mode: 0o700, user: 'root', group: 'root' },
    { path: '/var/log/edge.log', content: '' },
    { path: '/var/cache/edge-link', type: 'symlink', target: '../lib/edge' },
    { path: '/run/edge', type: 'dir' },
    { path: '/opt/edge/bin/edge-opt', content: 'opt\n', mode: 0o755 },
    { path: '/boot/edge-loader', content: 'boot\n' },
    { path: '/usr/share/edge/ghost', attr: '%ghost' },
  ],
};

export const LIBA = (version = '1.0', release = '1'): FixturePackage => ({
  name: 'liba',
  version,
  release,
  provides: ['liba-capability = 1.0'],
  files: [
    { path: '/usr/share/liba/data', content: `liba ${version}\n` },
    { path: '/usr/lib/liba.so', content: 'ELF?' },
  ],
});

export const APPB: FixturePackage = {
  name: 'appb',
  version: '2.1',
  release: '3',
  epoch: 1,
  requires: ['liba >= 1.0'],
  files: [
    { path: '/usr/bin/appb', content: '#!/bin/sh\necho appb\n', mode: 0o755 },
    { path: '/etc/appb/appb.conf', content: 'conf\n', attr: '%config(noreplace)' },
    { path: '/var/lib/appb', type: 'dir' },
  ],
};

export const FILESYSTEM: FixturePackage = {
  name: 'filesystem',
  version: '3.18',
  release: '1',
  files: [
    { path: '/etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/sbin/nologin\nedge:x:990:990::/var/lib/edge:/sbin/nologin\n' },
    { path: '/etc/group', content: 'root:x:0:\nbin:x:1:\nwheel:x:10:\nedge:x:990:\n' },
    { path: '/etc/nsswitch.conf', content: 'passwd:     files sss\nshadow:     files\ngroup:      files sss\nhosts:      files dns\n' },
    { path: '/etc/os-release', content: 'NAME=Xylem\nID=xylem\nVERSION_ID=1\n' },
    { path: '/usr/lib/modules/6.1.0-x/vmlinuz', content: 'kernel image\n' },
    { path: '/usr/lib/systemd/system/edge.service', content: '[Unit]\nDescription=edge\n[Install]\nWantedBy=multi-user.target\n' },
    { path: '/usr/lib/systemd/system/multi-user.target', content: '[Unit]\n' },
  ],
};

/** A shell for scripts: Debian's static busybox with a few applet links, and /bin → usr/bin. */
export const BASESH = (busybox: string): FixturePackage => ({
  name: 'basesh',
  version: '1.35',
  release: '1',
  arch: 'x86_64',
  provides: ['/bin/sh'],
  files: [
    { path: '/usr/bin/busybox', from: busybox, mode: 0o755 },
    ...['sh', 'echo', 'cat', 'mkdir', 'touch', 'ls', 'true'].map((a) => ({ path: `/usr/bin/${a}`, type: 'symlink' as const, target: 'busybox' })),
    { path: '/bin', type: 'symlink', target: 'usr/bin' },
    { path: '/etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
    { path: '/etc/group', content: 'root:x:0:\n' },
  ],
});

/** appb with scripts: %pre, %post (writes a marker), %posttrans (writes to /var, which rpm-ostree turns into tmpfiles). */
export const APPB_SCRIPTS: FixturePackage = {
  ...APPB,
  requires: [...(APPB.requires ?? []), '/bin/sh'],
  scripts: {
    pre: 'echo "appb pre: arg=$1"',
    post: 'echo "appb post: arg=$1"\nmkdir -p /usr/share/appb\necho "post ran with $1" > /usr/share/appb/post-marker',
    posttrans: 'echo "appb posttrans"\ntouch /usr/share/appb/posttrans-marker',
  },
};
