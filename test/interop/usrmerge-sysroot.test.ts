// A Fedora-style usr-merged tree through the sysroot tools, against the real ostree 2022.7:
// /bin, /lib, /lib64 and /sbin are symlinks into usr/, the os-release is usr/lib/os-release and
// usr/etc/os-release is a relative symlink to it (../lib/os-release), as Fedora's trees are made.
// xylem deploys it and `ostree admin status` reads the result; ostree deploys it and xylem reads
// that; the BLS entries (titles from os-release) are the same; `admin switch` and rpm-xylem's
// rebase to such a tree work. An os-release symlink pointing out of the tree is resolved inside
// the deployment, never on the host.

import { mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, ok, ostree, run, xylem } from '../helpers/interop.ts';
import { buildRpmXylem, cli, disposeRpmXylem } from '../updater/helpers.ts';

process.env.OSTREE_SYSROOT_DEBUG = 'mutable-deployments';
const REF = 'fedora/39/x86_64/silverblue';
const NEXT = 'fedora/40/x86_64/silverblue';
const KVER = '6.5.6-300.fc39.x86_64';

describeInterop('sysroot: a Fedora-style usr-merged tree (os-release symlinks) with xylem and ostree', () => {
  vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });
  let tmp: TempDir;
  let repo: string;
  let c39: string;
  let rpmXylem: string;

  /** Commits a usr-merged tree whose os-release says `pretty`, at `version`. */
  const commitFedora = (branch: string, pretty: string, version: string, etcLink = '../lib/os-release', osReleaseAt = 'usr/lib/os-release'): string => {
    const os = tmp.join(`tree-${version}`);
    const put = (rel: string, s: string) => {
      mkdirSync(join(os, rel, '..'), { recursive: true });
      writeFileSync(join(os, rel), s);
    };
    put(`usr/lib/modules/${KVER}/vmlinuz`, `kernel ${version}\n`);
    put(`usr/lib/modules/${KVER}/initramfs.img`, `initramfs ${version}\n`);
    put(osReleaseAt, `NAME="Fedora Linux"\nVERSION="${version} (Silverblue)"\nID=fedora\nVERSION_ID=${version}\nPRETTY_NAME="${pretty}"\n`);
    put('usr/bin/bash', 'bash\n');
    put('usr/sbin/init', 'init\n');
    put('usr/lib64/libc.so.6', 'libc\n');
    put('usr/etc/hostname', 'fedora\n');
    for (const d of ['sysroot', 'var', 'boot', 'proc', 'sys', 'dev', 'run', 'tmp']) mkdirSync(join(os, d), { recursive: true });
    for (const [l, t] of [['bin', 'usr/bin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64'], ['sbin', 'usr/sbin'], ['ostree', 'sysroot/ostree']] as const)
      symlinkSync(t, join(os, l));
    symlinkSync(etcLink, join(os, 'usr/etc/os-release'));
    return run('ostree', [`--repo=${repo}`, 'commit', '--bootable', `--add-metadata-string=version=${version}`, '-b', branch, `--tree=dir=${os}`]);
  };
  const newSysroot = (name: string): string => {
    const sys = tmp.join(name);
    mkdirSync(sys);
    run('ostree', ['admin', 'init-fs', sys]);
    run('ostree', ['admin', `--sysroot=${sys}`, 'os-init', 'fedora']);
    run('ostree', [`--repo=${sys}/ostree/repo`, 'remote', 'add', '--no-gpg-verify', 'fedora', `file://${repo}`]);
    for (const b of [REF, NEXT]) run('ostree', [`--repo=${sys}/ostree/repo`, 'pull', 'fedora', b]);
    return sys;
  };
  /** The current loader's entries: file name and full text, sorted by name. */
  const entries = (sys: string): string[] => {
    const dir = join(sys, 'boot', readlinkSync(join(sys, 'boot/loader')), 'entries');
    return readdirSync(dir)
      .sort()
      .map((n) => `${n}\n${readFileSync(join(dir, n), 'utf8')}`);
  };
  const titles = (sys: string) => entries(sys).map((e) => /^title (.*)$/m.exec(e)![1]);

  beforeAll(() => {
    tmp = new TempDir('xylem-usrmerge-');
    buildCli();
    rpmXylem = buildRpmXylem();
    repo = tmp.join('repo');
    run('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
    c39 = commitFedora(REF, 'Fedora Linux 39 (Silverblue)', '39');
    commitFedora(NEXT, 'Fedora Linux 40 (Silverblue)', '40');
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
    disposeRpmXylem(rpmXylem);
  });

  it('deploy: the same BLS entries as ostree; each tool reads the other one\'s sysroot', () => {
    const [a, b] = [newSysroot('A'), newSysroot('B')];
    const deployArgs = ['deploy', '--os=fedora', '--karg=root=LABEL=fedora', `fedora:${REF}`];
    const oo = ok(ostree(['admin', `--sysroot=${a}`, ...deployArgs]), 'ostree deploy');
    const xo = ok(xylem(['admin', `--sysroot=${b}`, ...deployArgs]), 'xylem deploy');
    expect(xo).toBe(oo);
    expect(entries(b)).toEqual(entries(a));
    expect(titles(b)).toEqual(['Fedora Linux 39 (Silverblue) (ostree:0)']);
    // The deployment's /etc/os-release is still the relative symlink, as ostree leaves it.
    expect(readlinkSync(join(b, 'ostree/deploy/fedora/deploy', `${c39}.0`, 'etc/os-release'))).toBe('../lib/os-release');
    // ostree reads xylem's sysroot, xylem reads ostree's, and both print the same.
    const statusO = ok(ostree(['admin', `--sysroot=${b}`, 'status']), 'ostree status of B');
    expect(statusO).toContain(`fedora ${c39}.0`);
    expect(statusO).toContain('Version: 39');
    expect(ok(xylem(['admin', `--sysroot=${a}`, 'status']), 'xylem status of A')).toBe(ok(ostree(['admin', `--sysroot=${a}`, 'status']), 'ostree status of A'));
  });

  it('switch to the next release: same entries as ostree', () => {
    const [a, b] = [newSysroot('SA'), newSysroot('SB')];
    for (const s of [a, b]) ok(ostree(['admin', `--sysroot=${s}`, 'deploy', '--os=fedora', `fedora:${REF}`]), 'ostree deploy');
    const oo = ok(ostree(['admin', `--sysroot=${a}`, 'switch', '--os=fedora', `fedora:${NEXT}`]), 'ostree switch');
    const xo = ok(xylem(['admin', `--sysroot=${b}`, 'switch', '--os=fedora', `fedora:${NEXT}`]), 'xylem switch');
    expect(xo).toBe(oo);
    expect(entries(b)).toEqual(entries(a));
    expect(titles(b)).toEqual(['Fedora Linux 39 (Silverblue) (ostree:1)', 'Fedora Linux 40 (Silverblue) (ostree:0)']);
  });

  it('rpm-xylem rebases onto it; ostree admin status reads the result', async () => {
    const s = newSysroot('R');
    ok(ostree(['admin', `--sysroot=${s}`, 'deploy', '--os=fedora', `fedora:${REF}`]), 'ostree deploy');
    const r = await cli(rpmXylem, ['rebase', `fedora:${NEXT}`, `--sysroot=${s}`], { XYLEM_BOOTED: `${c39}.0`, XYLEM_PROC_CMDLINE: '' });
    expect(r.status, r.stderr).toBe(0);
    const status = ok(ostree(['admin', `--sysroot=${s}`, 'status']), 'ostree status');
    expect(status).toMatch(/Version: 40[\s\S]*Version: 39/);
    expect(titles(s)).toEqual(['Fedora Linux 39 (Silverblue) (ostree:1)', 'Fedora Linux 40 (Silverblue) (ostree:0)']);
  });

  it('an os-release symlink leaving the tree is resolved inside the deployment, never on the host', () => {
    // No usr/lib/os-release; etc/os-release → an absolute path, or one climbing out of the tree
    // with '..': both name the deployment's own file (as if it were "/"), which the host lacks.
    const real = 'usr/share/xylem-test/os-release';
    for (const [n, link] of [['abs', `/${real}`], ['dotdot', `${'../'.repeat(12)}${real}`]] as const) {
      const branch = `fedora/escape-${n}`;
      const c = commitFedora(branch, `Fedora Linux 41 (${n})`, `41-${n}`, link, real);
      const s = newSysroot(`E-${n}`);
      run('ostree', [`--repo=${s}/ostree/repo`, 'pull', 'fedora', branch]);
      ok(xylem(['admin', `--sysroot=${s}`, 'deploy', '--os=fedora', `fedora:${branch}`]), 'xylem deploy');
      expect(titles(s)).toEqual([`Fedora Linux 41 (${n}) 41-${n} (ostree:0)`]);
      expect(ok(ostree(['admin', `--sysroot=${s}`, 'status']), 'ostree status')).toContain(`fedora ${c}.0`);
    }
  });
});
