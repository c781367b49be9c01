// The sysroot layer against the real `ostree admin` (2022.7): the same steps on two throw-away
// sysroots — init-fs, os-init, pull-local of a fake OS (kernel in usr/lib/modules/3.6.0),
// deploy v1 with kernel arguments, local /etc and /var changes, deploy v2 (new kernel), undeploy,
// cleanup — one done by ostree and one by xylem, must leave the same trees (timestamps aside:
// types, modes, owners, contents, symlink targets, BLS entries, origins, GC refs) and print
// the same lines; each tool's `admin status` reads the other's sysroot; xylem keeps deploying on
// a sysroot ostree created.

import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { ROOT, TempDir, describeInterop, ok, ostree, run as runTool, sh, type RunResult } from '../helpers/interop.ts';

// ostree would chattr +i deployment roots (we are root); its test suite runs like this too.
process.env.OSTREE_SYSROOT_DEBUG = 'mutable-deployments';

const REF = 'testos/buildmain/x86_64-runtime';

// A private CLI bundle (under tmp/ so it resolves node_modules), owned by this file only.
let cliDir: string | null = null;
function buildOwnCli(): void {
  mkdirSync(join(ROOT, 'tmp'), { recursive: true });
  cliDir = mkdtempSync(join(ROOT, 'tmp', 'sysroot-cli-'));
  const r = spawnSync(process.execPath, [join(ROOT, 'tools/build-cli.mjs'), '--outdir', cliDir], { encoding: 'utf8', cwd: ROOT });
  if (r.status !== 0) throw new Error(`building the CLI failed:\n${r.stdout}${r.stderr}`);
}
function xylem(args: string[]): RunResult {
  const r = spawnSync(process.execPath, [join(cliDir!, 'xylem.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, OSTREE_REPO: '' } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
function run(tool: 'ostree' | 'xylem', args: string[]): string {
  return tool === 'ostree' ? runTool('ostree', args) : ok(xylem(args), `xylem ${args.join(' ')}`).trim();
}

/** One line per entry under `root`: path, type, mode, owner, then content hash or link target. */
function manifest(root: string, skip: (rel: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const p = rel ? join(root, rel) : root;
    const names = readdirSync(p).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const st = lstatSync(join(root, r));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.push(`${r} l ${st.uid}:${st.gid} -> ${readlinkSync(join(root, r))}`);
      else if (st.isDirectory()) {
        out.push(`${r} d ${mode} ${st.uid}:${st.gid}`);
        walk(r);
      } else {
        const h = createHash('sha256').update(readFileSync(join(root, r))).digest('hex').slice(0, 16);
        out.push(`${r} f ${mode} ${st.uid}:${st.gid} ${st.size} ${h}`);
      }
    }
  };
  walk('');
  return out;
}

/** The repo's internals differ by design (tmp, locks, object storage); refs do not. */
const skipRepoInternals = (rel: string) => rel.startsWith('ostree/repo/') && !rel.startsWith('ostree/repo/refs');

function writeTree(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
}

describeInterop('sysroot: xylem admin vs ostree admin', () => {
  vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });
  let tmp: TempDir;
  let osRepo: string;
  let v1: string;
  let v2: string;
  const sysA = () => tmp.join('A'); // ostree's
  const sysB = () => tmp.join('B'); // xylem's

  const adminO = (sys: string, args: string[]) => ok(ostree(['admin', `--sysroot=${sys}`, ...args]), `ostree admin ${args.join(' ')}`);
  const adminX = (sys: string, args: string[]) => ok(xylem(['admin', `--sysroot=${sys}`, ...args]), `xylem admin ${args.join(' ')}`);

  beforeAll(() => {
    buildOwnCli();
    tmp = new TempDir('xylem-sysroot-');
    const os = tmp.join('osdata');
    writeTree(os, {
      'usr/lib/modules/3.6.0/vmlinuz': 'a kernel\n',
      'usr/lib/modules/3.6.0/initramfs.img': 'an initramfs\n',
      'usr/lib/modules/3.6.0/.vmlinuz.hmac': 'an hmac file\n',
      'usr/bin/sh': 'an executable\n',
      'usr/etc/os-release': 'NAME=TestOS\nVERSION=42\nID=testos\nPRETTY_NAME="TestOS 42"\n',
      'usr/etc/aconfigfile': 'a config file\n',
      'usr/etc/testdirectory/test': 'a default daemon file\n',
      'usr/etc/NetworkManager/nm.conf': 'a default daemon file\n',
    });
    chmodSync(join(os, 'usr/bin/sh'), 0o755);
    symlinkSync('usr/bin', join(os, 'bin'));
    osRepo = tmp.join('testos-repo');
    run('ostree', [`--repo=${osRepo}`, 'init', '--mode=archive']);
    v1 = run('ostree', [`--repo=${osRepo}`, 'commit', '--bootable', '--add-metadata-string=version=1.0.9', `-b`, REF, '-s', 'v1', `--tree=dir=${os}`]);
    writeTree(os, {
      'usr/lib/modules/3.6.0/vmlinuz': 'new: a kernel 1\n',
      'usr/lib/modules/3.6.0/initramfs.img': 'new: an initramfs 1\n',
      'usr/etc/a-new-default-config-file': 'a new default config file\n',
      'usr/etc/new-default-dir/moo': 'a new default dir and file\n',
    });
    v2 = run('ostree', [`--repo=${osRepo}`, 'commit', '--bootable', '--add-metadata-string=version=1.0.10', `-b`, REF, '-s', 'v2', `--tree=dir=${os}`]);
    for (const [sys, admin] of [
      [sysA(), adminO],
      [sysB(), adminX],
    ] as const) {
      mkdirSync(sys);
      admin === adminO ? ok(ostree(['admin', 'init-fs', sys])) : ok(xylem(['admin', 'init-fs', sys]));
      admin(sys, ['os-init', 'testos']);
      // syslinux, set up as libtest.sh's setup_os_boot_syslinux does
      mkdirSync(join(sys, 'boot/loader.0'));
      symlinkSync('loader.0', join(sys, 'boot/loader'));
      writeFileSync(join(sys, 'boot/loader/syslinux.cfg'), '');
      mkdirSync(join(sys, 'boot/syslinux'));
      symlinkSync('../loader/syslinux.cfg', join(sys, 'boot/syslinux/syslinux.cfg'));
    }
    // The sysroot repo gets the commits by each tool's own pull-local.
    run('ostree', [`--repo=${sysA()}/ostree/repo`, 'pull-local', '--remote=testos', osRepo, REF]);
    run('xylem', [`--repo=${sysB()}/ostree/repo`, 'pull-local', '--remote=testos', osRepo, REF]);
    // both have the tip (v2); give them v1 too, by checksum
    run('ostree', [`--repo=${sysA()}/ostree/repo`, 'pull-local', osRepo, v1]);
    run('xylem', [`--repo=${sysB()}/ostree/repo`, 'pull-local', osRepo, v1]);
  });
  afterAll(() => {
    tmp?.cleanup();
    if (cliDir) rmSync(cliDir, { recursive: true, force: true });
  });

  const compareTrees = () => {
    const a = manifest(sysA(), skipRepoInternals);
    const b = manifest(sysB(), skipRepoInternals);
    expect(b).toEqual(a);
  };

  it('init-fs and os-init make the same skeleton', () => {
    compareTrees();
  });

  it('deploy v1 with kernel arguments: same output, tree, BLS entries, origin, refs', () => {
    const args = ['deploy', '--os=testos', '--karg=root=LABEL=MOO', '--karg=quiet', v1];
    const outA = adminO(sysA(), args);
    const outB = adminX(sysB(), args);
    expect(outB).toBe(outA);
    expect(outB).toContain('bootconfig swap: yes; bootversion: boot.1.1, deployment count change: 1');
    compareTrees();
    const entry = readFileSync(join(sysB(), 'boot/loader/entries/ostree-1-testos.conf'), 'utf8');
    expect(entry).toMatch(/^title TestOS 42 1\.0\.9 \(ostree:0\)\nversion 1\noptions root=LABEL=MOO quiet ostree=\/ostree\/boot\.1\/testos\/[0-9a-f]{64}\/0\n/);
    expect(readFileSync(join(sysB(), `ostree/deploy/testos/deploy/${v1}.0.origin`), 'utf8')).toBe(`[origin]\nrefspec=${v1}\n`);
    // the deployment's files are hardlinks of the repo's objects
    const usrSh = lstatSync(join(sysB(), `ostree/deploy/testos/deploy/${v1}.0/usr/bin/sh`));
    expect(usrSh.nlink).toBeGreaterThan(1);
  });

  it('each tool reads the other one\'s sysroot the same way', () => {
    const stA = adminO(sysA(), ['status']);
    expect(adminO(sysB(), ['status'])).toBe(stA);
    expect(adminX(sysA(), ['status'])).toBe(stA);
    expect(stA).toContain(`  testos ${v1}.0\n    Version: 1.0.9\n    origin refspec: ${v1}\n`);
  });

  it('deploy v2 by ref merges /etc changes and keeps /var', () => {
    for (const sys of [sysA(), sysB()]) {
      const etc = join(sys, `ostree/deploy/testos/deploy/${v1}.0/etc`);
      writeFileSync(join(etc, 'aconfigfile'), 'changed by the admin\n');
      rmSync(join(etc, 'testdirectory'), { recursive: true });
      writeFileSync(join(etc, 'local.conf'), 'a new local config file\n');
      symlinkSync('/ENOENT', join(etc, 'a-new-broken-symlink'));
      writeFileSync(join(sys, 'ostree/deploy/testos/var/lib/state'), 'state\n');
    }
    // same lines; ostree lists each folder in readdir order, which the filesystem decides
    const lines = (t: string) => t.split('\n').filter(Boolean).sort();
    const diffA = adminO(sysA(), ['config-diff', '--os=testos']);
    expect(lines(adminX(sysB(), ['config-diff', '--os=testos']))).toEqual(lines(diffA));
    expect(lines(diffA)).toEqual(['A    a-new-broken-symlink', 'A    local.conf', 'D    testdirectory', 'M    aconfigfile']);
    const args = ['deploy', '--os=testos', `testos:${REF}`];
    const outA = adminO(sysA(), args);
    const outB = adminX(sysB(), args);
    expect(outB).toBe(outA);
    expect(outB).toContain('Copying /etc changes: 1 modified, 1 removed, 2 added');
    compareTrees();
    const etc2 = join(sysB(), `ostree/deploy/testos/deploy/${v2}.0/etc`);
    expect(readFileSync(join(etc2, 'aconfigfile'), 'utf8')).toBe('changed by the admin\n');
    expect(readFileSync(join(etc2, 'a-new-default-config-file'), 'utf8')).toBe('a new default config file\n');
    expect(readlinkSync(join(etc2, 'a-new-broken-symlink'))).toBe('/ENOENT');
    expect(() => lstatSync(join(etc2, 'testdirectory'))).toThrow();
    expect(readFileSync(join(sysB(), 'ostree/deploy/testos/var/lib/state'), 'utf8')).toBe('state\n');
    // the new kernel gets its own boot directory; both entries are there, v2 first
    expect(readFileSync(join(sysB(), 'boot/loader/entries/ostree-2-testos.conf'), 'utf8')).toMatch(/^title TestOS 42 1\.0\.10 \(ostree:0\)/);
    expect(readFileSync(join(sysB(), `ostree/deploy/testos/deploy/${v2}.0.origin`), 'utf8')).toBe(`[origin]\nrefspec=testos:${REF}\n`);
    expect(adminO(sysB(), ['status'])).toBe(adminO(sysA(), ['status']));
  });

  it('xylem deploys on the sysroot ostree made, and ostree on xylem\'s', () => {
    const outA = adminX(sysA(), ['deploy', '--os=testos', '--karg-append=console=ttyS0', `testos:${REF}`]);
    const outB = adminO(sysB(), ['deploy', '--os=testos', '--karg-append=console=ttyS0', `testos:${REF}`]);
    expect(outA).toBe(outB);
    compareTrees();
    expect(adminX(sysA(), ['status'])).toBe(adminO(sysB(), ['status']));
  });

  it('pin, undeploy and cleanup', () => {
    expect(adminX(sysB(), ['pin', '1'])).toBe(adminO(sysA(), ['pin', '1']));
    compareTrees();
    expect(adminX(sysB(), ['status'])).toContain('Pinned: yes');
    expect(adminX(sysB(), ['undeploy', '0'])).toBe(adminO(sysA(), ['undeploy', '0']));
    compareTrees();
    adminO(sysA(), ['cleanup']);
    adminX(sysB(), ['cleanup']);
    compareTrees();
    const refs = run('ostree', [`--repo=${sysB()}/ostree/repo`, 'refs']).split('\n').sort();
    expect(refs.filter((r) => r.startsWith('ostree/'))).toEqual(run('ostree', [`--repo=${sysA()}/ostree/repo`, 'refs']).split('\n').sort().filter((r) => r.startsWith('ostree/')));
    sh('ostree', [`--repo=${sysB()}/ostree/repo`, 'fsck', '-q']);
  });

  it('--print-current-dir names the default deployment', () => {
    expect(adminX(sysB(), ['--print-current-dir'])).toBe(adminO(sysB(), ['--print-current-dir']));
  });
});
