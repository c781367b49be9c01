// `rpm-xylem initramfs` and `initramfs-etc` end to end on a throw-away sysroot. The base is
// composed by `rpm-xylem compose tree` from fixture RPMs: busybox, a kernel with its packaged
// initramfs, and a stub `dracut` IN THE BASE (upstream runs the tree's own dracut; a real dracut
// would need bash, kmod, systemd… packaged as fixtures — far beyond a unit fixture) that writes
// a real newc cpio (busybox cpio) holding its argv and the /etc/crypttab it sees. Oracles: GNU
// `cpio -it` / `cpio -i --to-stdout` on the committed image and on the /etc overlay, the real
// `ostree admin status` / `ostree fsck` / `ostree show` / `ostree rev-parse`, and the BLS entries
// and /boot files. Then crash points (XYLEM_CRASH_AT, SIGKILL) for both commands: after each,
// status works, every entry names a complete deployment, and a re-run succeeds.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OSTREE, TempDir } from '../helpers/interop.ts';
import { runTs as runTsEntry, type TsRunResult } from '../helpers/run-ts.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, buildRepo, hasCommand, type FixturePackage } from '../helpers/rpmbuild.ts';
import { BUSYBOX, HAVE_BUSYBOX_STATIC, HAVE_BWRAP, IS_ROOT } from '../helpers/script-root.ts';
import { BASESH } from '../compose/fixtures.ts';

const ENV = { OSTREE_SYSROOT_DEBUG: 'mutable-deployments', NODE_OPTIONS: '' };
const KVER = '6.1.0-x';
const runTs = (entry: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<TsRunResult> => runTsEntry(entry, args, cwd, { ...ENV, ...env });

const SHELL = (): FixturePackage => {
  const b = BASESH(BUSYBOX!);
  return {
    ...b,
    files: [
      ...b.files!.filter((f) => !f.path.startsWith('/etc/')),
      ...['grep', 'wc', 'rm', 'cpio', 'find', 'cp', 'sort'].map((a) => ({ path: `/usr/bin/${a}`, type: 'symlink' as const, target: 'busybox' })),
      { path: '/usr/bin/bash', mode: 0o755, content: '#!/bin/sh\nexec sh "$@"\n' },
    ],
  };
};
const SETUP: FixturePackage = {
  name: 'setup',
  version: '2.14',
  files: [
    { path: '/etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
    { path: '/etc/group', content: 'root:x:0:\n' },
    { path: '/etc/os-release', content: 'NAME=Xylem\nID=xylem\nVERSION_ID=1\n' },
    { path: '/etc/crypttab', content: 'default crypttab\n' },
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
/** A dracut that writes a newc cpio of its argv and the /etc/crypttab it sees to its -f image. */
const DRACUT: FixturePackage = {
  name: 'dracut',
  version: '1.0',
  files: [
    {
      path: '/usr/bin/dracut',
      mode: 0o755,
      content: [
        '#!/bin/sh',
        'if [ "$1" = "--help" ]; then echo "  --reproducible   Create reproducible images"; exit 0; fi',
        'out=; prev=',
        'for a in "$@"; do if [ "$prev" = "-f" ]; then out="$a"; fi; prev="$a"; done',
        'st=/tmp/dracut-stub; rm -rf $st; mkdir -p $st/etc',
        'for a in "$@"; do echo "$a"; done > $st/dracut-argv',
        'cp /etc/crypttab $st/etc/crypttab',
        'cd $st && find . | sort | cpio -o -H newc > "$out"',
        '',
      ].join('\n'),
    },
  ],
};

describe.skipIf(
  missing('rpm-xylem initramfs', {
    ostree: OSTREE !== null,
    rpmbuild: HAVE_RPMBUILD,
    createrepo_c: HAVE_CREATEREPO,
    bwrap: HAVE_BWRAP,
    'busybox-static': HAVE_BUSYBOX_STATIC,
    cpio: hasCommand('cpio'),
    root: IS_ROOT,
  }),
)('rpm-xylem initramfs / initramfs-etc', () => {
  const tmp = new TempDir('xylem-layer-initramfs-');
  const sys = tmp.join('sys');
  let base = '';
  const rx = (args: string[], env: Record<string, string> = {}) => runTs('tools/rpm-xylem/main.ts', [...args, `--sysroot=${sys}`], tmp.path, env);
  const xy = (args: string[]) => runTs('tools/cli.ts', args, tmp.path);
  const ost = (args: string[]) => execFileSync(OSTREE!, args, { encoding: 'utf8', env: { ...process.env, ...ENV } });
  const repoArg = `--repo=${sys}/ostree/repo`;
  const top = (): [string, string] => {
    const m = /^[* ] testos ([0-9a-f]{64})\.(\d+)/m.exec(ost(['admin', `--sysroot=${sys}`, 'status']))!;
    return [m[1]!, join(sys, 'ostree/deploy/testos/deploy', `${m[1]}.${m[2]}`)];
  };
  /** The current loader's entries, newest first: [text, deployment root]. */
  const entries = (): Array<[string, string]> => {
    const dir = join(sys, 'boot', readlinkSync(join(sys, 'boot/loader')), 'entries');
    return readdirSync(dir)
      .map((n) => readFileSync(join(dir, n), 'utf8'))
      .sort((a, b) => Number(/^version (\d+)/m.exec(b)![1]) - Number(/^version (\d+)/m.exec(a)![1]))
      .map((t) => {
        const link = join(sys, /ostree=(\S+)/.exec(t)![1]!);
        return [t, join(link, '..', readlinkSync(link))];
      });
  };
  const cpioList = (file: string, gz = false) =>
    execFileSync('sh', ['-c', `${gz ? 'gzip -dc' : 'cat'} "$1" | cpio -it --quiet 2>/dev/null`, 'sh', file], { encoding: 'utf8' }).trim().split('\n');
  const cpioCat = (file: string, member: string, gz = false) =>
    execFileSync('sh', ['-c', `${gz ? 'gzip -dc' : 'cat'} "$1" | cpio -i --to-stdout --quiet "$2" 2>/dev/null`, 'sh', file, member], { encoding: 'utf8' });
  const cpioVerbose = (file: string) => execFileSync('sh', ['-c', 'gzip -dc "$1" | cpio -itv --quiet 2>/dev/null', 'sh', file], { encoding: 'utf8' }).trim().split('\n');
  const checkOracles = () => {
    ost(['admin', `--sysroot=${sys}`, 'status']);
    ost(['fsck', repoArg]);
    // every entry: kernel and initramfs present in /boot, the deployment complete (its kernel there)
    for (const [t, root] of entries()) {
      for (const m of t.matchAll(/^(?:linux|initrd) (\S+)$/gm)) expect(existsSync(join(sys, 'boot', m[1]!)), m[1]).toBe(true);
      expect(existsSync(join(root, `usr/lib/modules/${KVER}/vmlinuz`))).toBe(true);
    }
  };

  beforeAll(async () => {
    const fx = buildRepo([SHELL(), SETUP, KERNEL, DRACUT], tmp.join('fx'));
    writeFileSync(tmp.join('fx.repo'), `[fx]\nbaseurl=file://${fx}\ngpgcheck=0\n`);
    writeFileSync(tmp.join('base.yaml'), 'ref: testos/stable\nrepos: [fx]\npackages: [basesh, setup, kernel, dracut]\nselinux: false\nno-initramfs: true\n');
    execFileSync(OSTREE!, ['init', `--repo=${tmp.join('compose')}`, '--mode=archive']);
    const c = await rx(['compose', 'tree', `--repo=${tmp.join('compose')}`, `--cachedir=${tmp.join('cc')}`, 'base.yaml']);
    expect(c.status, c.stderr).toBe(0);
    base = /testos\/stable => ([0-9a-f]{64})/.exec(c.stdout)![1]!;
    mkdirSync(sys);
    for (const args of [['admin', 'init-fs', sys], ['admin', `--sysroot=${sys}`, 'os-init', 'testos']]) {
      const r = await xy(args);
      expect(r.status, r.stderr).toBe(0);
    }
    ost([repoArg, 'pull-local', tmp.join('compose'), 'testos/stable']);
    const d = await xy(['admin', `--sysroot=${sys}`, 'deploy', '--os=testos', '--karg=root=LABEL=x', 'testos/stable']);
    expect(d.status, d.stderr).toBe(0);
    // The administrator's /etc: the host's crypttab and a tracked directory with a link in it.
    const etc = join(top()[1], 'etc');
    writeFileSync(join(etc, 'crypttab'), 'luks-1 UUID=1234 none\n');
    mkdirSync(join(etc, 'dracut.conf.d'));
    writeFileSync(join(etc, 'dracut.conf.d/x.conf'), 'add_drivers+=" x "\n');
    symlinkSync('x.conf', join(etc, 'dracut.conf.d/y.conf'));
    mkdirSync(join(etc, 'linkdir-target'));
    symlinkSync('/usr', join(etc, 'escape'));
  }, 300_000);
  afterAll(() => {
    if (!process.env.XYLEM_LAYER_KEEP) tmp.cleanup();
  });

  it('initramfs --enable runs the tree\'s dracut with the base and origin args and the system /etc; --disable returns to the base', async () => {
    const before = entries();
    expect((await rx(['initramfs'])).stdout).toBe('Initramfs regeneration: disabled\n');
    const r = await rx(['initramfs', '--enable', '--arg=-I', '--arg=/etc/crypttab']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Initramfs regeneration is now: enabled\n');
    const [csum, root] = top();
    expect(csum).not.toBe(base);
    // a local commit on the base, as rpm-ostree's client layer
    expect(ost(['rev-parse', repoArg, `${csum}^`]).trim()).toBe(base);
    expect(ost(['show', repoArg, csum, '--print-metadata-key=rpmostree.clientlayer']).trim()).toBe('true');
    expect(ost(['rev-parse', repoArg, 'rpmostree/base/0']).trim()).toBe(base);
    const origin = readFileSync(`${root}.origin`, 'utf8');
    expect(origin).toContain('baserefspec=testos/stable\n');
    expect(origin).toContain('[rpmostree]\nregenerate-initramfs=true\ninitramfs-args=-I;/etc/crypttab;\n');
    // the committed image is the dracut's (cpio -it), made with the system's /etc
    const img = join(root, `usr/lib/modules/${KVER}/initramfs.img`);
    expect(cpioList(img)).toEqual(['.', 'dracut-argv', 'etc', 'etc/crypttab']);
    expect(cpioCat(img, 'etc/crypttab')).toBe('luks-1 UUID=1234 none\n');
    expect(cpioCat(img, 'dracut-argv').trim().split('\n')).toEqual(['--reproducible', '-v', '--add', 'ostree', '--tmpdir=/tmp/dracut', '-f', '/tmp/initramfs.img', '--no-hostonly', '-I', '/etc/crypttab', '--kver', KVER]);
    const inCommit = execFileSync(OSTREE!, [repoArg, 'cat', csum, `/usr/lib/modules/${KVER}/initramfs.img`]);
    expect(inCommit.equals(readFileSync(img))).toBe(true);
    // the boot checksum changed: /boot has the new image beside the old one
    const after = entries();
    expect(after.length).toBe(2);
    const initrd = /^initrd (\S+)$/m.exec(after[0]![0])![1]!;
    expect(initrd).not.toBe(/^initrd (\S+)$/m.exec(before[0]![0])![1]);
    expect(readFileSync(join(sys, 'boot', initrd)).equals(readFileSync(img))).toBe(true);
    // the tree's /etc defaults were not touched by showing dracut the system's
    expect(readFileSync(join(root, 'usr/etc/crypttab'), 'utf8')).toBe('default crypttab\n');
    const st = await rx(['status']);
    expect(st.stdout).toContain('Initramfs: -I /etc/crypttab \n');
    expect(st.stdout).toContain(`BaseCommit: ${base}\n`);
    const js = JSON.parse((await rx(['status', '--json'])).stdout).deployments[0];
    expect(js['regenerate-initramfs']).toBe(true);
    expect(js['initramfs-args']).toEqual(['-I', '/etc/crypttab']);
    expect((await rx(['initramfs'])).stdout).toBe('Initramfs regeneration: enabled\nInitramfs args: -I /etc/crypttab \n');
    checkOracles();

    // the same again is refused; --reboot on a sysroot nothing booted is refused before any work
    expect((await rx(['initramfs', '--enable', '--arg=-I', '--arg=/etc/crypttab'])).stderr).toMatch(/already enabled/);
    const rb = await rx(['initramfs', '--disable', '--reboot']);
    expect(rb.status).toBe(1);
    expect(rb.stderr).toMatch(/--reboot: this sysroot is not the booted system/);
    expect(top()[0]).toBe(csum);

    const dis = await rx(['initramfs', '--disable']);
    expect(dis.status, dis.stderr).toBe(0);
    expect(dis.stdout).toContain('Initramfs regeneration is now: disabled\nInitramfs will be reset to default on next reboot.\n');
    const [c2, root2] = top();
    expect(c2).toBe(base);
    expect(readFileSync(join(root2, `usr/lib/modules/${KVER}/initramfs.img`), 'utf8')).toBe('packaged initramfs\n');
    const o2 = readFileSync(`${root2}.origin`, 'utf8');
    expect(o2).toContain('refspec=testos/stable\n');
    expect(o2).not.toMatch(/baserefspec|rpmostree/);
    checkOracles();
  }, 300_000);

  it('initramfs-etc --track builds an overlay initrd of exactly the tracked files, --force-sync picks up changes, --untrack-all drops it', async () => {
    expect((await rx(['initramfs-etc'])).stdout).toBe('No tracked files.\n');
    // refused: outside /etc, '..', a symlink on the way, a missing file
    for (const [arg, re] of [
      ['/usr/lib/os-release', /must be under \/etc/],
      ['/etc/../boot/x', /'\.\.'/],
      ['/etc/escape/bin/sh', /is a symbolic link/],
      ['/etc/nope', /No such file or directory/],
    ] as const) {
      const r = await rx(['initramfs-etc', `--track=${arg}`]);
      expect(r.status, arg).toBe(1);
      expect(r.stderr, arg).toMatch(re);
    }
    const r = await rx(['initramfs-etc', '--track=/etc/crypttab', '--track=/etc/dracut.conf.d']);
    expect(r.status, r.stderr).toBe(0);
    const [csum, root] = top();
    expect(ost(['rev-parse', repoArg, `${csum}^`]).trim()).toBe(base);
    const origin = readFileSync(`${root}.origin`, 'utf8');
    expect(origin).toContain('baserefspec=testos/stable\n');
    expect(origin).toContain('initramfs-etc=/etc/crypttab;/etc/dracut.conf.d;\n');
    const [entry] = entries()[0]!;
    const ov = [...entry.matchAll(/^initrd (\/ostree\/initramfs-overlays\/[0-9a-f]{64}\.img)$/gm)].map((m) => m[1]!);
    expect(ov.length).toBe(1);
    const file = join(sys, 'boot', ov[0]!);
    expect(cpioList(file, true)).toEqual(['etc/crypttab', 'etc/dracut.conf.d', 'etc/dracut.conf.d/x.conf', 'etc/dracut.conf.d/y.conf']);
    expect(cpioCat(file, 'etc/crypttab', true)).toBe('luks-1 UUID=1234 none\n');
    const v = cpioVerbose(file);
    expect(v.find((l) => l.endsWith('etc/dracut.conf.d/y.conf -> x.conf'))).toMatch(/^lrwxrwxrwx +1 root +root /);
    expect(v.find((l) => l.endsWith(' etc/crypttab'))).toMatch(/^-rw-r--r-- +1 root +root /);
    expect(createHashOf(readFileSync(file))).toBe(/([0-9a-f]{64})\.img$/.exec(ov[0]!)![1]);
    expect((await rx(['initramfs-etc'])).stdout).toBe('Tracked files:\n  /etc/crypttab\n  /etc/dracut.conf.d\n');
    expect((await rx(['status'])).stdout).toContain('InitramfsEtc: /etc/crypttab /etc/dracut.conf.d\n');
    expect(ost(['admin', `--sysroot=${sys}`, 'status'])).toContain(csum);
    checkOracles();

    // a new deployment by another verb (kargs) keeps the /etc overlay, as rpm-ostree's would
    const ka = await rx(['kargs', '--append=quiet']);
    expect(ka.status, ka.stderr).toBe(0);
    const [kEntry] = entries()[0]!;
    expect(kEntry).toMatch(/^options .*quiet/m);
    expect([...kEntry.matchAll(/^initrd (\/ostree\/initramfs-overlays\/[0-9a-f]{64}\.img)$/gm)].map((m) => m[1])).toEqual(ov);

    // no change → exit 77 with --unchanged-exit-77; --force-sync after an /etc change → new overlay
    const same = await rx(['initramfs-etc', '--track=/etc/crypttab', '--unchanged-exit-77']);
    expect(same.status, same.stderr).toBe(77);
    writeFileSync(join(top()[1], 'etc/crypttab'), 'luks-2 UUID=5678 none\n');
    const fs = await rx(['initramfs-etc', '--force-sync']);
    expect(fs.status, fs.stderr).toBe(0);
    const ov2 = /^initrd \/ostree\/initramfs-overlays\/([0-9a-f]{64})\.img$/m.exec(entries()[0]![0])![1]!;
    expect(cpioCat(join(sys, `boot/ostree/initramfs-overlays/${ov2}.img`), 'etc/crypttab', true)).toBe('luks-2 UUID=5678 none\n');
    checkOracles();

    // both regeneration and tracked files: refused as rpm-ostree does
    const both = await rx(['initramfs', '--enable']);
    expect(both.status).toBe(1);
    expect(both.stderr).toMatch(/initramfs regeneration and \/etc overlay not compatible/);

    const un = await rx(['initramfs-etc', '--untrack-all']);
    expect(un.status, un.stderr).toBe(0);
    const [c3, root3] = top();
    expect(c3).toBe(base);
    expect(readFileSync(`${root3}.origin`, 'utf8')).not.toMatch(/initramfs-etc|baserefspec/);
    expect(entries()[0]![0]).not.toMatch(/initramfs-overlays/);
    // only what an entry still names stays in /boot
    const named = new Set(entries().flatMap(([t]) => [...t.matchAll(/initramfs-overlays\/(\S+)$/gm)].map((m) => m[1])));
    const onDisk = readdirSync(join(sys, 'boot/ostree/initramfs-overlays'));
    expect(onDisk.sort()).toEqual([...named].sort());
    checkOracles();
  }, 300_000);

  describe('crash points (XYLEM_CRASH_AT: SIGKILL before the Nth file-system change)', () => {
    const cases: Array<[string[], string[], RegExp]> = [
      [['initramfs', '--enable'], ['initramfs', '--disable'], /regenerate-initramfs=true/],
      [['initramfs-etc', '--track=/etc/crypttab'], ['initramfs-etc', '--untrack-all'], /initramfs-etc=\/etc\/crypttab;/],
    ];
    for (const [args, undo, requested] of cases) {
      it(`${args.join(' ')}: after each kill status works, entries name complete deployments, a re-run succeeds`, async () => {
        expect(top()[0]).toBe(base);
        // how many changes one whole run makes
        const countFile = tmp.join(`count-${args[0]}`);
        const full = await rx(args, { XYLEM_CRASH_COUNT: countFile });
        expect(full.status, full.stderr).toBe(0);
        const n = Number(readFileSync(countFile, 'utf8').trim());
        expect(n).toBeGreaterThan(20);
        expect((await rx(undo)).status).toBe(0);
        // (later runs make somewhat fewer changes than the counted one: the last point stays clear of the end)
        for (const at of [Math.floor(n / 4), Math.floor(n / 2), Math.floor(n * 0.85)]) {
          const k = await rx(args, { XYLEM_CRASH_AT: String(at) });
          expect(k.status, `kill at ${at}/${n}: ${k.stdout}${k.stderr}`).toBe(137);
          const st = await rx(['status']);
          expect(st.status, `status after kill at ${at}: ${st.stderr}`).toBe(0);
          checkOracles();
          // published before the kill (the request is in the newest origin), or a re-run does it
          const done = requested.test(readFileSync(`${top()[1]}.origin`, 'utf8'));
          if (!done) {
            const again = await rx(args);
            expect(again.status, `re-run after kill at ${at}: ${again.stderr}`).toBe(0);
            checkOracles();
          }
          expect(readFileSync(`${top()[1]}.origin`, 'utf8')).toMatch(requested);
          const back = await rx(undo);
          expect(back.status, back.stderr).toBe(0);
          expect(top()[0]).toBe(base);
        }
      }, 600_000);
    }
  });
});

function createHashOf(b: Buffer): string {
  return execFileSync('sha256sum', { input: b, encoding: 'utf8' }).split(' ')[0]!;
}
