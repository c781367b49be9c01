// The update path's integrity against the real `ostree admin` (2022.7), each case on two copies
// of one ostree-made sysroot: the /etc merge never writes (or deletes) through a symlink the new
// commit puts in usr/etc — ostree does, xylem skips and warns; a deploy that fails at any point
// leaves no deployment folder behind (ostree leaves one); an invalid override-commit in an origin
// fails both tools' upgrade with ostree's message (xylem's names the origin file, rpm-xylem's too);
// a non-UTF-8 origin is named; a tree without PRETTY_NAME and ID is refused as ostree refuses it;
// deployment roots get the immutable flag where the file system has it, and undeploy/cleanup
// (of xylem's and of ostree's sealed roots) takes it off before deleting.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, ok, ostree, run, xylem, type RunResult } from '../helpers/interop.ts';
import { buildRpmXylem, cli, disposeRpmXylem } from '../updater/helpers.ts';
import { setImmutableFlag } from '../../runtimes/posix/immutable.ts';

const REF = 'testos/base';
const MUTABLE = 'mutable-deployments';
process.env.OSTREE_SYSROOT_DEBUG = MUTABLE;

/** Runs `f` with OSTREE_SYSROOT_DEBUG unset (both tools then seal deployment roots). */
function sealing<T>(f: () => T): T {
  delete process.env.OSTREE_SYSROOT_DEBUG;
  try {
    return f();
  } finally {
    process.env.OSTREE_SYSROOT_DEBUG = MUTABLE;
  }
}

/** Whether `path` carries the immutable flag (lsattr -d), null when the file system cannot tell. */
function immutable(path: string): boolean | null {
  const r = spawnSync('lsattr', ['-d', path], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (r.status !== 0) return null;
  return r.stdout.split(/\s+/)[0]!.includes('i');
}

describeInterop('sysroot integrity on the update path (vs ostree admin)', () => {
  vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });
  let tmp: TempDir;
  let os: string;
  let repo: string;
  let base: string;
  let v1: string;
  let rpmXylem: string;

  /** Commits the base tree changed by `edit` to `branch` of the served repo. */
  const commitVariant = (branch: string, edit: (root: string) => void, bootable = true): string => {
    const root = tmp.join(`tree-${branch.replace(/\//g, '_')}`);
    cpSync(os, root, { recursive: true, verbatimSymlinks: true });
    edit(root);
    return run('ostree', [`--repo=${repo}`, 'commit', ...(bootable ? ['--bootable'] : []), '-b', branch, `--tree=dir=${root}`]);
  };
  /** A copy of the base sysroot (v1 deployed by ostree, local /etc changes made). */
  const fresh = (name: string): string => {
    const sys = tmp.join(name);
    cpSync(base, sys, { recursive: true, verbatimSymlinks: true });
    return sys;
  };
  const deployDirs = (sys: string) => readdirSync(join(sys, 'ostree/deploy/testos/deploy')).sort();
  const adminX = (sys: string, args: string[]) => xylem(['admin', `--sysroot=${sys}`, ...args]);
  const adminO = (sys: string, args: string[]) => ostree(['admin', `--sysroot=${sys}`, ...args]);
  const pull = (sys: string, branch: string) => run('ostree', [`--repo=${sys}/ostree/repo`, 'pull', 'origin', branch]);
  const failed = (r: RunResult, what: string): string => {
    expect(r.status, `${what} should fail:\n${r.stdout}`).not.toBe(0);
    return r.stderr;
  };
  const depPath = (sys: string, csum: string, serial = 0) => join(sys, 'ostree/deploy/testos/deploy', `${csum}.${serial}`);

  beforeAll(() => {
    tmp = new TempDir('xylem-integrity-');
    buildCli();
    rpmXylem = buildRpmXylem();
    os = tmp.join('os');
    repo = tmp.join('repo');
    const put = (rel: string, s: string) => {
      mkdirSync(join(os, rel, '..'), { recursive: true });
      writeFileSync(join(os, rel), s);
    };
    put('usr/lib/modules/5.0/vmlinuz', 'a kernel\n');
    put('usr/lib/modules/5.0/initramfs.img', 'an initramfs\n');
    put('usr/etc/os-release', 'NAME=TestOS\nPRETTY_NAME="TestOS 1"\n');
    put('usr/etc/foo/default.conf', 'default\n');
    put('usr/etc/bar/default.conf', 'default\n');
    put('usr/etc/plain.conf', 'default\n');
    symlinkSync('usr/bin', join(os, 'bin'));
    mkdirSync(join(os, 'usr/bin'));
    run('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
    v1 = run('ostree', [`--repo=${repo}`, 'commit', '--bootable', '-b', REF, `--tree=dir=${os}`]);
    base = tmp.join('base');
    mkdirSync(base);
    run('ostree', ['admin', 'init-fs', base]);
    run('ostree', ['admin', `--sysroot=${base}`, 'os-init', 'testos']);
    run('ostree', [`--repo=${base}/ostree/repo`, 'remote', 'add', '--no-gpg-verify', 'origin', `file://${repo}`]);
    pull(base, REF);
    run('ostree', ['admin', `--sysroot=${base}`, 'deploy', '--os=testos', '--karg=root=LABEL=x', `origin:${REF}`]);
    // The administrator's changes: one modified file, one added, one removed, under foo/ and bar/.
    const etc = join(depPath(base, v1), 'etc');
    writeFileSync(join(etc, 'foo/default.conf'), 'mine\n');
    writeFileSync(join(etc, 'foo/local.conf'), 'local\n');
    rmSync(join(etc, 'bar/default.conf'));
    writeFileSync(join(etc, 'plain.conf'), 'mine\n');
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
    disposeRpmXylem(rpmXylem);
  });

  it('/etc merge: a symlink in the new usr/etc never redirects a local change outside the deployment', () => {
    const outside = tmp.join('outside-abs');
    const outside2 = tmp.join('outside-rel');
    const reset = () => {
      for (const d of [outside, outside2]) {
        rmSync(d, { recursive: true, force: true });
        mkdirSync(d);
      }
      // A file a "removed" entry would delete through bar/.
      writeFileSync(join(outside2, 'default.conf'), 'not yours\n');
    };
    const c2 = commitVariant('testos/evil', (root) => {
      rmSync(join(root, 'usr/etc/foo'), { recursive: true });
      rmSync(join(root, 'usr/etc/bar'), { recursive: true });
      symlinkSync(outside, join(root, 'usr/etc/foo'));
      symlinkSync(`${'../'.repeat(40)}${outside2.slice(1)}`, join(root, 'usr/etc/bar'));
    });
    const [sa, sb] = [fresh('evil-ostree'), fresh('evil-xylem')];
    pull(sa, 'testos/evil');
    pull(sb, 'testos/evil');

    // ostree 2022.7 follows the symlinks: the admin's files land outside, the outside file is deleted.
    reset();
    const ro = ok(adminO(sa, ['deploy', '--os=testos', 'origin:testos/evil']), 'ostree deploy');
    expect(readdirSync(outside).sort()).toEqual(['default.conf', 'local.conf']);
    expect(existsSync(join(outside2, 'default.conf'))).toBe(false);

    reset();
    const r = adminX(sb, ['deploy', '--os=testos', 'origin:testos/evil']);
    ok(r, 'xylem deploy');
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(join(outside2, 'default.conf'), 'utf8')).toBe('not yours\n');
    // Each change left out is named, with the reason.
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toEqual([
      `warning: /etc/bar/default.conf not merged: its parent /etc/bar is a symlink in the new deployment (-> ${'../'.repeat(40)}${outside2.slice(1)})`,
      `warning: /etc/foo/default.conf not merged: its parent /etc/foo is a symlink in the new deployment (-> ${outside})`,
      `warning: /etc/foo/local.conf not merged: its parent /etc/foo is a symlink in the new deployment (-> ${outside})`,
    ]);
    // The rest of the merge happened, and the new tree's symlinks are untouched.
    const etc = join(depPath(sb, c2), 'etc');
    expect(readFileSync(join(etc, 'plain.conf'), 'utf8')).toBe('mine\n');
    expect(readlinkSync(join(etc, 'foo'))).toBe(outside);
    // The same progress lines as ostree's ("Copying /etc changes: 1 modified, 1 removed, 1 added", …).
    expect(r.stdout).toBe(ro);
    expect(r.stdout).toContain('Copying /etc changes: 2 modified, 1 removed, 1 added\n');
  });

  it('a deploy failing mid-way leaves no deployment folder (ostree leaves one); the deployments in use stay', () => {
    // 1. At the boot-set write (OSTREE_SYSROOT_DEBUG=test-fifreeze, ostree's own test hook).
    const [sa, sb] = [fresh('fail-o'), fresh('fail-x')];
    const before = deployDirs(sb);
    process.env.OSTREE_SYSROOT_DEBUG = `${MUTABLE},test-fifreeze`;
    let eo: string;
    let ex: string;
    try {
      eo = failed(adminO(sa, ['deploy', '--os=testos', '--karg-append=x=1', `origin:${REF}`]), 'ostree deploy (fifreeze)');
      ex = failed(adminX(sb, ['deploy', '--os=testos', '--karg-append=x=1', `origin:${REF}`]), 'xylem deploy (fifreeze)');
    } finally {
      process.env.OSTREE_SYSROOT_DEBUG = MUTABLE;
    }
    expect(eo).toContain('aborting due to test-fifreeze');
    expect(ex).toContain('aborting due to test-fifreeze');
    expect(deployDirs(sa).length).toBeGreaterThan(before.length);
    expect(deployDirs(sb)).toEqual(before);

    // 2. In the /etc merge: a locally modified file is a directory in the new tree.
    commitVariant('testos/dir', (root) => {
      rmSync(join(root, 'usr/etc/plain.conf'));
      mkdirSync(join(root, 'usr/etc/plain.conf'));
    });
    pull(sb, 'testos/dir');
    const e2 = failed(adminX(sb, ['deploy', '--os=testos', 'origin:testos/dir']), 'xylem deploy (etc merge)');
    expect(e2).toContain("Modified config file newly defaults to directory 'plain.conf', cannot merge");
    expect(deployDirs(sb)).toEqual(before);

    // 3. Before the checkout is complete: no kernel in the tree.
    commitVariant('testos/nokernel', (root) => rmSync(join(root, 'usr/lib/modules'), { recursive: true }), false);
    pull(sb, 'testos/nokernel');
    failed(adminX(sb, ['deploy', '--os=testos', 'origin:testos/nokernel']), 'xylem deploy (no kernel)');
    expect(deployDirs(sb)).toEqual(before);

    // The deployment in use is untouched: ostree reads the same boot set, and a deploy still works.
    expect(ok(adminO(sb, ['status']), 'ostree status')).toContain(`testos ${v1}.0`);
    expect(readFileSync(join(depPath(sb, v1), 'etc/foo/local.conf'), 'utf8')).toBe('local\n');
    ok(adminX(sb, ['deploy', '--os=testos', `origin:${REF}`]), 'xylem deploy after failures');
  });

  it('an invalid override-commit in the origin fails upgrade with ostree\'s message, naming the origin file', async () => {
    for (const [value, message] of [
      ['abc', 'Invalid rev abc'],
      ['ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789', "Invalid character '65' in rev 'ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789'"],
    ] as const) {
      const [sa, sb] = [fresh(`ovr-o-${value.length}`), fresh(`ovr-x-${value.length}`)];
      for (const s of [sa, sb]) writeFileSync(`${depPath(s, v1)}.origin`, `[origin]\nrefspec=origin:${REF}\noverride-commit=${value}\n`);
      expect(failed(adminO(sa, ['upgrade', '--os=testos']), 'ostree upgrade')).toBe(`error: ${message}\n`);
      const ex = failed(adminX(sb, ['upgrade', '--os=testos']), 'xylem upgrade');
      expect(ex).toContain(message);
      expect(ex).toContain(`${depPath(sb, v1)}.origin`);
      // switch reads the current origin first, as ostree's upgrader does.
      expect(failed(adminO(sa, ['switch', '--os=testos', 'origin:other']), 'ostree switch')).toBe(`error: ${message}\n`);
      expect(failed(adminX(sb, ['switch', '--os=testos', 'origin:other']), 'xylem switch')).toContain(message);
      // rpm-xylem: upgrade, deploy and rebase all start from that origin.
      for (const args of [['upgrade'], ['deploy', v1], ['rebase', 'origin:other']]) {
        const r = await cli(rpmXylem, [...args, `--sysroot=${sb}`], { XYLEM_BOOTED: `${v1}.0`, XYLEM_PROC_CMDLINE: '' });
        expect(r.status, `rpm-xylem ${args.join(' ')}`).not.toBe(0);
        expect(r.stderr).toContain(`${depPath(sb, v1)}.origin: origin/override-commit: ${message}`);
      }
      expect(deployDirs(sb)).toEqual(deployDirs(base));
    }
    // A bad --override-commit on the command line: ostree's message.
    const sb = fresh('ovr-cli');
    expect(failed(adminX(sb, ['upgrade', '--os=testos', '--override-commit=xyz']), 'xylem upgrade --override-commit')).toContain('Invalid rev xyz');
  });

  it('a non-UTF-8 origin is refused naming the file', async () => {
    const sb = fresh('binary-origin');
    const origin = `${depPath(sb, v1)}.origin`;
    writeFileSync(origin, Buffer.from([0x5b, 0x6f, 0xff, 0xfe, 0x5d, 0x0a]));
    expect(failed(adminX(sb, ['status']), 'xylem status')).toContain(`${origin}: not valid UTF-8`);
    const r = await cli(rpmXylem, ['status', `--sysroot=${sb}`], { XYLEM_BOOTED: 'none', XYLEM_PROC_CMDLINE: '' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${origin}: not valid UTF-8`);
  });

  it('os-release without PRETTY_NAME or ID is refused as ostree refuses it; ID alone is the title', () => {
    commitVariant('testos/noid', (root) => writeFileSync(join(root, 'usr/etc/os-release'), 'NAME=TestOS\nVERSION=1\n'));
    commitVariant('testos/idonly', (root) => writeFileSync(join(root, 'usr/etc/os-release'), 'NAME=TestOS\nID=testos\n'));
    const [sa, sb] = [fresh('noid-o'), fresh('noid-x')];
    for (const s of [sa, sb]) for (const b of ['testos/noid', 'testos/idonly']) pull(s, b);
    const before = deployDirs(sb);
    const eo = failed(adminO(sa, ['deploy', '--os=testos', 'origin:testos/noid']), 'ostree deploy');
    const ex = failed(adminX(sb, ['deploy', '--os=testos', 'origin:testos/noid']), 'xylem deploy');
    expect(eo).toBe('error: Installing kernel: No PRETTY_NAME or ID in /etc/os-release\n');
    expect(ex).toContain('Installing kernel: No PRETTY_NAME or ID in /etc/os-release');
    expect(deployDirs(sb)).toEqual(before);
    ok(adminO(sa, ['deploy', '--os=testos', 'origin:testos/idonly']), 'ostree deploy ID only');
    ok(adminX(sb, ['deploy', '--os=testos', 'origin:testos/idonly']), 'xylem deploy ID only');
    const titles = (s: string) => {
      const dir = join(s, 'boot', readlinkSync(join(s, 'boot/loader')), 'entries');
      return readdirSync(dir).sort().map((n) => /^title (.*)$/m.exec(readFileSync(join(dir, n), 'utf8'))![1]);
    };
    expect(titles(sb)).toEqual(titles(sa));
    expect(titles(sb)[1]).toBe('testos (ostree:0)');
  });

  it('deployment roots get the immutable flag; undeploy and cleanup take it off (xylem\'s and ostree\'s)', () => {
    const sb = fresh('seal');
    const sa = fresh('seal-o');
    const supported = immutable(depPath(sb, v1)) !== null;
    commitVariant('testos/v2', (root) => writeFileSync(join(root, 'usr/etc/new.conf'), 'new\n'));
    const v2 = run('ostree', [`--repo=${repo}`, 'rev-parse', 'testos/v2']);
    pull(sb, 'testos/v2');
    pull(sa, 'testos/v2');
    sealing(() => {
      ok(adminX(sb, ['deploy', '--os=testos', 'origin:testos/v2']), 'xylem deploy (sealing)');
      ok(adminO(sa, ['deploy', '--os=testos', 'origin:testos/v2']), 'ostree deploy (sealing)');
    });
    if (supported) {
      // Same as ostree: sealed, and the stateroot folder itself is not.
      expect(immutable(depPath(sb, v2))).toBe(true);
      expect(immutable(depPath(sa, v2))).toBe(true);
      expect(() => writeFileSync(join(depPath(sb, v2), 'x'), '')).toThrow(/EPERM|EACCES/);
      expect(immutable(join(sb, 'ostree/deploy/testos/deploy'))).toBe(false);
    }
    // xylem undeploys its own sealed root and the one ostree sealed (index 0 is v2 in both).
    sealing(() => {
      ok(adminX(sb, ['undeploy', '0']), 'xylem undeploy (own)');
      ok(adminX(sa, ['undeploy', '0']), 'xylem undeploy (ostree-made)');
    });
    expect(existsSync(depPath(sb, v2))).toBe(false);
    expect(existsSync(depPath(sa, v2))).toBe(false);
    expect(deployDirs(sa)).toEqual(deployDirs(base));
    // And ostree cleans up a root xylem sealed.
    sealing(() => ok(adminX(sb, ['deploy', '--os=testos', 'origin:testos/v2']), 'xylem deploy again'));
    ok(adminO(sb, ['undeploy', '0']), 'ostree undeploy (xylem-made)');
    expect(deployDirs(sb)).toEqual(deployDirs(base));
  });

  it('a file system without the flag is tolerated silently, as ostree does', async () => {
    // procfs has no FS_IMMUTABLE_FL (chattr: "Operation not supported"): no error, just false.
    expect(await setImmutableFlag('/proc/self', true)).toBe(false);
    expect(await setImmutableFlag('/proc/self', false)).toBe(false);
    await expect(setImmutableFlag(tmp.join('missing'), true)).rejects.toThrow(/ENOENT/);
    // On this (ext4) tmp dir the flag really is set and cleared.
    const d = tmp.join('flag');
    mkdirSync(d);
    if (immutable(d) !== null) {
      expect(await setImmutableFlag(d, true)).toBe(true);
      expect(immutable(d)).toBe(true);
      expect(await setImmutableFlag(d, false)).toBe(true);
      expect(immutable(d)).toBe(false);
    }
  });
});
