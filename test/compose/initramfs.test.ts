// compose tree runs the tree's own dracut in the sandbox, as rpm-ostree does: a stub `dracut` IN
// THE COMPOSED ROOT (legitimate: upstream runs the root's dracut) records the argv it got, the
// /etc it saw (usr/etc with the split passwd merged back) and whether /usr was writable; the
// committed initramfs is its output plus rpm-ostree's trailer, whose device nodes GNU cpio lists.
// The bootcsum of usr/lib/ostree-boot covers the new image. Failures name the fix.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { executeCompose, planCompose } from '../../src/compose/compose.ts';
import type { ComposeEvent } from '../../src/compose/events.ts';
import { appendRandomDevices, buildInitramfs, dracutArgs, randomDevicesCpio } from '../../src/compose/initramfs.ts';
import { composeServices } from '../../src/compose/services.ts';
import { loadTreefile } from '../../src/compose/treefile.ts';
import { Repo } from '../../src/repo/repo.ts';
import { OSTREE, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, buildRepo, hasCommand, type FixturePackage } from '../helpers/rpmbuild.ts';
import { BUSYBOX, HAVE_BUSYBOX_STATIC, HAVE_BWRAP, HAVE_ROFILES, IS_ROOT } from '../helpers/script-root.ts';
import { BASESH } from './fixtures.ts';
import { staticResolver } from './static-resolver.ts';

const host = createNodeHost();
const KVER = '6.1.0-x';

/** busybox sh, plus the applets the dracut wrapper and the stub use; no passwd of its own. */
const shell = (): FixturePackage => {
  const b = BASESH(BUSYBOX!);
  return {
    ...b,
    files: [
      ...b.files!.filter((f) => !f.path.startsWith('/etc/')),
      ...['grep', 'wc', 'rm'].map((a) => ({ path: `/usr/bin/${a}`, type: 'symlink' as const, target: 'busybox' })),
      // busybox has no bash applet: its ash runs the wrapper (set -o pipefail included).
      { path: '/usr/bin/bash', mode: 0o755, content: '#!/bin/sh\nexec sh "$@"\n' },
    ],
  };
};

const SETUP: FixturePackage = {
  name: 'setup',
  version: '2.14',
  release: '1',
  files: [
    { path: '/etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/sbin/nologin\n' },
    { path: '/etc/group', content: 'root:x:0:\nbin:x:1:\n' },
  ],
};

const KERNEL: FixturePackage = {
  name: 'kernel',
  version: '6.1.0',
  release: 'x',
  files: [
    { path: `/usr/lib/modules/${KVER}/vmlinuz`, content: 'kernel image\n' },
    { path: `/usr/lib/modules/${KVER}/initramfs.img`, content: 'packaged initramfs\n' },
  ],
};

/** A dracut that writes what it was given and what it sees into its -f image. */
const DRACUT_STUB = (exitCode = 0): FixturePackage => ({
  name: 'dracut',
  version: '1.0',
  release: exitCode === 0 ? '1' : '2',
  files: [
    {
      path: '/usr/bin/dracut',
      mode: 0o755,
      content: [
        '#!/bin/sh',
        'if [ "$1" = "--help" ]; then echo "  --reproducible   Create reproducible images"; exit 0; fi',
        exitCode !== 0 ? `echo "dracut: cannot find the ostree module" >&2; exit ${exitCode}` : '',
        'out=; prev=',
        'for a in "$@"; do if [ "$prev" = "-f" ]; then out="$a"; fi; prev="$a"; done',
        '{',
        '  echo "argv:"; for a in "$@"; do echo "$a"; done',
        '  echo "passwd:"; cat /etc/passwd',
        '  echo "machine-id: $(wc -c < /etc/machine-id)"',
        '  if touch /usr/lib/dracut-was-here 2>/dev/null; then echo "usr: writable"; else echo "usr: read-only"; fi',
        '  echo "DRACUT_NO_MKNOD=$DRACUT_NO_MKNOD"',
        '} > "$out"',
        '',
      ].join('\n'),
    },
  ],
});

describe('initramfs pieces', () => {
  it('passes initramfs-args (or --no-hostonly) then --kver', () => {
    expect(dracutArgs([], '6.1')).toEqual(['--no-hostonly', '--kver', '6.1']);
    expect(dracutArgs(['--add', 'fips'], '6.1')).toEqual(['--add', 'fips', '--kver', '6.1']);
    expect(() => dracutArgs([], '../x')).toThrow(/invalid kernel version/);
  });

  it('pads to 4 bytes plus alignment before the device cpio, as rpm-ostree', () => {
    const cpio = randomDevicesCpio();
    expect(appendRandomDevices(new Uint8Array(0)).length).toBe(cpio.length + 4);
    expect(appendRandomDevices(new Uint8Array(1)).length).toBe(cpio.length + 8);
    expect(appendRandomDevices(new Uint8Array(4)).length).toBe(cpio.length + 8);
  });
});

describe.skipIf(
  missing('compose tree with dracut', {
    ostree: OSTREE !== null,
    rpmbuild: HAVE_RPMBUILD,
    createrepo_c: HAVE_CREATEREPO,
    bwrap: HAVE_BWRAP,
    'rofiles-fuse': HAVE_ROFILES,
    'busybox-static': HAVE_BUSYBOX_STATIC,
    cpio: hasCommand('cpio'),
    root: IS_ROOT,
  }),
)('compose tree: initramfs', () => {
  const tmp = new TempDir('xylem-compose-initramfs-');
  afterAll(() => tmp.cleanup());
  const fx = buildRepo([shell(), SETUP, KERNEL, DRACUT_STUB()], tmp.join('fx'));
  const repoPath = tmp.join('repo');
  const ost = (args: string[]) => execFileSync(OSTREE!, [`--repo=${repoPath}`, ...args], { encoding: 'utf8' });
  const catBytes = (rev: string, path: string) => execFileSync(OSTREE!, [`--repo=${repoPath}`, 'cat', rev, path]);

  async function compose(name: string, extra: string, dirs: Record<string, string> = { fx }) {
    writeFileSync(tmp.join(`${name}.yaml`), `ref: xylem/${name}\npackages: [basesh, setup, kernel, dracut]\nselinux: false\n${extra}`);
    const repo = await Repo.init(host, repoPath, { mode: 'archive' });
    const cache = await Repo.init(host, tmp.join('cache/pkgcache-repo'), { mode: 'bare-user' });
    const tf = await loadTreefile(host.fs, tmp.join(`${name}.yaml`));
    const resolution = await staticResolver(dirs).resolve(tf);
    const plan = await planCompose(repo, cache, tf, resolution, { sha256: () => repo.createSha256() });
    const events: ComposeEvent[] = [];
    const r = await executeCompose(repo, cache, tf, resolution, plan, { workdir: tmp.join(`work-${name}`), services: composeServices(host), emit: (e) => events.push(e) });
    return { commit: r.commit!, events };
  }

  /** The stub's text: the image up to the NUL padding. */
  const stubText = (img: Buffer) => img.subarray(0, img.indexOf(0)).toString('utf8');

  it('runs the root dracut confined, with rpm-ostree arguments, and commits its image', async () => {
    const { commit, events } = await compose('default', '');
    expect(events).toContainEqual({ type: 'message', text: `Generating initramfs for ${KVER}` });
    const img = catBytes(commit, `/usr/lib/modules/${KVER}/initramfs.img`);
    const text = stubText(img);
    const argv = text.split('passwd:\n')[0]!.split('\n').slice(1, -1);
    expect(argv).toEqual(['--reproducible', '-v', '--add', 'ostree', '--tmpdir=/tmp/dracut', '-f', '/tmp/initramfs.img', '--no-hostonly', '--kver', KVER]);
    // dracut saw /etc with every user (usr/lib/passwd merged back), an empty machine-id, a read-only /usr.
    expect(text).toContain('passwd:\nroot:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/sbin/nologin\n');
    expect(text).toContain('machine-id: 0\n');
    expect(text).toContain('usr: read-only\n');
    expect(text).toContain('DRACUT_NO_MKNOD=1\n');
    // The trailer: NUL padding to 4 (at least 4 bytes), then a gzip'd cpio GNU cpio reads.
    const gz = img.indexOf(Buffer.from([0x1f, 0x8b]), text.length);
    expect(gz - text.length).toBe(4 + ((4 - (text.length % 4)) % 4));
    expect(img.subarray(text.length, gz).every((b) => b === 0)).toBe(true);
    const listing = execFileSync('sh', ['-c', 'gzip -dc | cpio -itv --quiet'], { input: img.subarray(gz) }).toString();
    expect(listing).toMatch(/^crw-rw-rw-\s+1 root\s+root\s+1,\s+8 .* dev\/random$/m);
    expect(listing).toMatch(/^crw-rw-rw-\s+1 root\s+root\s+1,\s+9 .* dev\/urandom$/m);
    // The commit: split passwd restored, machine-id empty, no scratch dirs, bootcsum over kernel + new image.
    expect(ost(['cat', commit, '/usr/etc/passwd'])).toBe('root:x:0:0:root:/root:/bin/sh\n');
    expect(ost(['cat', commit, '/usr/etc/machine-id'])).toBe('');
    const top = ost(['ls', commit, '/']);
    expect(top).not.toMatch(/rpmostree-dracut|\/etc\n/);
    expect(ost(['ls', commit, '/usr/lib'])).not.toContain('dracut-was-here');
    const csum = createHash('sha256').update('kernel image\n').update(img).digest('hex');
    const boot = ost(['ls', commit, '/usr/lib/ostree-boot']);
    expect(boot).toContain(`/usr/lib/ostree-boot/vmlinuz-${KVER}-${csum}`);
    expect(boot).toContain(`/usr/lib/ostree-boot/initramfs-${KVER}.img-${csum}`);
    expect(catBytes(commit, `/usr/lib/ostree-boot/initramfs-${KVER}.img-${csum}`).equals(img)).toBe(true);
    expect(ost(['show', commit, '--print-metadata-key=ostree.linux']).trim()).toBe(`'${KVER}'`);
    expect(() => ost(['show', commit, '--print-metadata-key=rpmostree.initramfs-args'])).toThrow();
    expect(ost(['ls', commit, `/usr/lib/modules/${KVER}/initramfs.img`])).toMatch(/^-00644 0 0/);
  });

  it('scriptlets and postprocess scripts see the tree config as /etc (usr/etc), as upstream binds it', async () => {
    const seer: FixturePackage = { name: 'seer', version: '1', release: '1', files: [{ path: '/usr/share/seer/x', content: 'x\n' }], scripts: { post: 'cat /etc/passwd > /usr/lib/seen-by-post' } };
    const fxSeer = buildRepo([seer], tmp.join('fxseer'));
    writeFileSync(tmp.join('pp.sh'), '#!/bin/sh\ncat /etc/group > /usr/lib/seen-by-postprocess\n');
    const { commit } = await compose('seen', 'postprocess-script: pp.sh\nno-initramfs: true\n', { fx, fxSeer });
    expect(ost(['cat', commit, '/usr/lib/seen-by-post'])).toBe('root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/sbin/nologin\n');
    expect(ost(['cat', commit, '/usr/lib/seen-by-postprocess'])).toBe('root:x:0:\nbin:x:1:\n');
    expect(ost(['ls', commit, '/'])).not.toMatch(/ \/etc\n/);
  });

  it('initramfs-args replace --no-hostonly and are recorded in the commit', async () => {
    const { commit } = await compose('args', 'initramfs-args: [--add, fips, --omit, nfs]\nboot-location: modules\n');
    const argv = stubText(catBytes(commit, `/usr/lib/modules/${KVER}/initramfs.img`)).split('passwd:\n')[0]!.split('\n').slice(1, -1);
    expect(argv.slice(7)).toEqual(['--add', 'fips', '--omit', 'nfs', '--kver', KVER]);
    expect(ost(['show', commit, '--print-metadata-key=rpmostree.initramfs-args']).trim()).toBe("['--add', 'fips', '--omit', 'nfs']");
    expect(() => ost(['ls', commit, '/usr/lib/ostree-boot'])).toThrow();
  });

  it('no-initramfs keeps the packaged image; machineid-compat: false drops machine-id', async () => {
    const { commit } = await compose('noinit', 'no-initramfs: true\nmachineid-compat: false\n');
    expect(ost(['cat', commit, `/usr/lib/modules/${KVER}/initramfs.img`])).toBe('packaged initramfs\n');
    expect(() => ost(['cat', commit, '/usr/etc/machine-id'])).toThrow();
  });

  it('a failing dracut fails the compose with its output; a tree without dracut names the fix', async () => {
    const fxBad = buildRepo([DRACUT_STUB(3)], tmp.join('fxbad'));
    await expect(compose('bad', '', { fx, fxBad })).rejects.toThrow(/Running dracut for 6\.1\.0-x: bwrap\(dracut\): Child process exited with code 3\n(.|\n)*dracut: cannot find the ostree module/);
    writeFileSync(tmp.join('nodracut.yaml'), 'ref: xylem/nodracut\npackages: [basesh, setup, kernel]\nselinux: false\n');
    const repo = await Repo.init(host, repoPath, { mode: 'archive' });
    const cache = await Repo.init(host, tmp.join('cache/pkgcache-repo'), { mode: 'bare-user' });
    const tf = await loadTreefile(host.fs, tmp.join('nodracut.yaml'));
    const resolution = await staticResolver({ fx }, ['basesh', 'setup', 'kernel']).resolve(tf);
    const plan = await planCompose(repo, cache, tf, resolution, { sha256: () => repo.createSha256() });
    await expect(executeCompose(repo, cache, tf, resolution, plan, { workdir: tmp.join('work-nodracut'), services: composeServices(host) })).rejects.toThrow(/no dracut(.|\n)*no-initramfs: true/);
  });
});

// The real thing: Debian's dracut (dracut-core) with ostree's module (ostree-boot) builds the image
// of a root whose /usr is the host's, seen through an overlay so nothing is written to the host;
// lsinitrd (dracut's own reader) shows the arguments and the ostree module in it.
describe.skipIf(
  missing('real dracut in the sandbox', {
    dracut: hasCommand('dracut') && hasCommand('lsinitrd'),
    'ostree-boot (98ostree)': existsSync('/usr/lib/dracut/modules.d/98ostree'),
    bwrap: HAVE_BWRAP,
    root: IS_ROOT,
  }),
)('compose tree: real dracut', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xylem-real-dracut-'));
  const root = join(dir, 'root');
  afterAll(() => {
    execFileSync('sh', ['-c', 'umount "$1" 2>/dev/null; rm -rf "$2"', 'sh', root, dir]);
  });

  it('makes an initramfs lsinitrd reads, with the ostree module and rpm-ostree arguments (< 60 s)', async () => {
    for (const d of ['root', 'upper', 'work']) mkdirSync(join(dir, d));
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=/,upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')},redirect_dir=on`, root]);
    // A composed root has no /etc of its own, only usr/etc (the host's is hidden by a whiteout).
    execFileSync('rm', ['-rf', join(root, 'etc')]);
    mkdirSync(join(root, 'usr/etc'), { recursive: true });
    writeFileSync(join(root, 'usr/etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(root, 'usr/etc/group'), 'root:x:0:\n');
    mkdirSync(join(root, 'usr/lib/modules/6.1.0-xylem'), { recursive: true });
    writeFileSync(join(root, 'usr/lib/modules/6.1.0-xylem/vmlinuz'), 'kernel image\n');
    // initramfs-args as a treefile gives them; a short module list keeps the run well under a minute.
    await buildInitramfs(host, root, { kver: '6.1.0-xylem', args: ['--no-hostonly', '--modules', 'base ostree'] });
    const img = join(root, 'usr/lib/modules/6.1.0-xylem/initramfs.img');
    const ls = execFileSync('lsinitrd', [img], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
    expect(ls).toContain("Arguments:  --reproducible -v --add 'ostree' --tmpdir '/tmp/dracut' -f --no-hostonly --modules 'base ostree' --kver '6.1.0-xylem'");
    expect(ls).toMatch(/^ostree$/m);
    expect(ls).toMatch(/ostree-prepare-root/);
    expect(existsSync(join(root, 'etc'))).toBe(false);
  }, 120_000);
});
