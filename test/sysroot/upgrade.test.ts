// Updating a host against the real `ostree admin`: two sysroots following the same file://
// remote, one driven by ostree and one by xylem, through upgrade (new commit, then nothing new),
// switch to another branch, kargs edit-in-place, instutil set-kargs, and a pinned downgrade with
// --override-commit must print the same lines and leave the same trees; set-default (newer than
// ostree 2022.7) is checked through ostree's own status of the result.

import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { ROOT, TempDir, describeInterop, ok, ostree, run, type RunResult } from '../helpers/interop.ts';

process.env.OSTREE_SYSROOT_DEBUG = 'mutable-deployments';
const REF = 'testos/buildmain/x86_64-runtime';
const OTHER = 'testos/buildmain/other';

let cliDir: string | null = null;
function xylem(args: string[]): RunResult {
  const r = spawnSync(process.execPath, [join(cliDir!, 'xylem.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, OSTREE_REPO: '' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function manifest(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(rel ? join(root, rel) : root).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (r.startsWith('ostree/repo/') && !r.startsWith('ostree/repo/refs')) continue;
      const st = lstatSync(join(root, r));
      if (st.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(join(root, r))}`);
      else if (st.isDirectory()) {
        out.push(`${r}/ ${(st.mode & 0o7777).toString(8)}`);
        walk(r);
      } else out.push(`${r} ${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(readFileSync(join(root, r))).digest('hex').slice(0, 16)}`);
    }
  };
  walk('');
  return out;
}

describeInterop('sysroot: upgrade and switch vs ostree admin', () => {
  vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });
  let tmp: TempDir;
  let os: string;
  let osRepo: string;
  const A = () => tmp.join('A');
  const B = () => tmp.join('B');
  const adminO = (args: string[]) => ok(ostree(['admin', `--sysroot=${A()}`, ...args]), `ostree admin ${args.join(' ')}`);
  const adminX = (args: string[]) => ok(xylem(['admin', `--sysroot=${B()}`, ...args]), `xylem admin ${args.join(' ')}`);
  const both = (args: string[]) => {
    const a = adminO(args);
    const b = adminX(args);
    expect(b).toBe(a);
    expect(manifest(B())).toEqual(manifest(A()));
    return a;
  };
  const commit = (branch: string, version: string, files: Record<string, string>) => {
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(join(os, rel, '..'), { recursive: true });
      writeFileSync(join(os, rel), content);
    }
    return run('ostree', [`--repo=${osRepo}`, 'commit', '--bootable', `--add-metadata-string=version=${version}`, '-b', branch, `--tree=dir=${os}`]);
  };

  beforeAll(() => {
    mkdirSync(join(ROOT, 'tmp'), { recursive: true });
    cliDir = mkdtempSync(join(ROOT, 'tmp', 'sysroot-cli-'));
    const r = spawnSync(process.execPath, [join(ROOT, 'tools/build-cli.mjs'), '--outdir', cliDir], { encoding: 'utf8', cwd: ROOT });
    if (r.status !== 0) throw new Error(`building the CLI failed:\n${r.stdout}${r.stderr}`);
    tmp = new TempDir('xylem-upgrade-');
    os = tmp.join('osdata');
    osRepo = tmp.join('testos-repo');
    run('ostree', [`--repo=${osRepo}`, 'init', '--mode=archive']);
    mkdirSync(os);
    symlinkSync('usr/bin', join(os, 'bin'));
    commit(REF, '1.0', {
      'usr/lib/modules/3.6.0/vmlinuz': 'a kernel\n',
      'usr/lib/modules/3.6.0/initramfs.img': 'an initramfs\n',
      'usr/bin/sh': 'sh\n',
      'usr/etc/os-release': 'NAME=TestOS\nPRETTY_NAME="TestOS 42"\n',
      'usr/etc/aconfigfile': 'default\n',
    });
    chmodSync(join(os, 'usr/bin/sh'), 0o755);
    for (const sys of [A(), B()]) {
      mkdirSync(sys);
      run('ostree', ['admin', 'init-fs', sys]);
      run('ostree', ['admin', `--sysroot=${sys}`, 'os-init', 'testos']);
      run('ostree', [`--repo=${sys}/ostree/repo`, 'remote', 'add', '--set=gpg-verify=false', 'testos', `file://${osRepo}`, REF]);
      run('ostree', [`--repo=${sys}/ostree/repo`, 'pull', 'testos', REF]);
    }
    const deploy = ['deploy', '--os=testos', '--karg=root=LABEL=rootfs', `testos:${REF}`];
    both(deploy);
    for (const sys of [A(), B()]) {
      const dir = readdirSync(join(sys, 'ostree/deploy/testos/deploy')).find((n) => !n.endsWith('.origin'))!;
      writeFileSync(join(sys, 'ostree/deploy/testos/deploy', dir, 'etc/aconfigfile'), 'local\n');
    }
  });
  afterAll(() => {
    tmp?.cleanup();
    if (cliDir) rmSync(cliDir, { recursive: true, force: true });
  });

  it('upgrade pulls the new commit through the file:// remote and deploys it', () => {
    const v2 = commit(REF, '2.0', { 'usr/lib/modules/3.6.0/vmlinuz': 'a new kernel\n', 'usr/share/new': 'x\n' });
    const out = both(['upgrade', '--os=testos']);
    expect(out).toContain('Copying /etc changes: 1 modified, 0 removed, 0 added');
    expect(run('ostree', [`--repo=${B()}/ostree/repo`, 'rev-parse', `testos:${REF}`])).toBe(v2);
    expect(readFileSync(join(B(), `ostree/deploy/testos/deploy/${v2}.0/etc/aconfigfile`), 'utf8')).toBe('local\n');
    expect(adminO(['status'])).toBe(adminX(['status']).replace(B(), A()));
  });

  it('upgrade with nothing new says so and changes nothing', () => {
    expect(both(['upgrade', '--os=testos'])).toBe('No update available.\n');
  });

  it('switch to another branch of the same remote', () => {
    commit(OTHER, '3.0', { 'usr/share/other': 'y\n' });
    both(['switch', '--os=testos', OTHER]);
    expect(adminX(['status'])).toContain(`origin refspec: testos:${OTHER}`);
  });

  it('kargs edit-in-place and instutil set-kargs', () => {
    both(['kargs', 'edit-in-place', '--append-if-missing=console=ttyS0']);
    both(['instutil', 'set-kargs', '--merge', '--append=quiet']);
    const entry = readFileSync(join(B(), 'boot/loader/entries/ostree-2-testos.conf'), 'utf8');
    expect(entry).toMatch(/^options root=LABEL=rootfs ostree=\/ostree\/boot\.\d\/testos\/[0-9a-f]{64}\/0 console=ttyS0 quiet$/m);
  });

  it('a downgrade needs --allow-downgrade (with --override-commit)', () => {
    // an older commit than the deployed one: rewrite history with an old timestamp
    const older = run('ostree', [`--repo=${osRepo}`, 'commit', '--bootable', '--timestamp=2001-01-01', '-b', OTHER, `--tree=dir=${os}`]);
    for (const sys of [A(), B()]) run('ostree', [`--repo=${sys}/ostree/repo`, 'pull', 'testos', OTHER]);
    const refuse = ['upgrade', '--os=testos', `--override-commit=${older}`];
    const ro = ostree(['admin', `--sysroot=${A()}`, ...refuse]);
    const rx = xylem(['admin', `--sysroot=${B()}`, ...refuse]);
    expect(ro.status).not.toBe(0);
    expect(rx.status).not.toBe(0);
    expect(rx.stderr).toMatch(/Upgrade target revision .* is chronologically older than current revision/);
    both([...refuse, '--allow-downgrade']);
    expect(adminX(['status'])).toMatch(new RegExp(`^  testos ${older}\\.0$`, 'm'));
  });

  it('set-default reorders the boot entries (read back by ostree)', () => {
    const before = ok(ostree(['admin', `--sysroot=${B()}`, 'status']));
    const heads = (s: string) => s.split('\n').filter((l) => /^[* ] testos /.test(l));
    const [first, second] = heads(before);
    adminX(['set-default', '1']);
    const after = heads(ok(ostree(['admin', `--sysroot=${B()}`, 'status'])));
    expect(after.slice(0, 2)).toEqual([second, first]);
  });
});
