// /boot space check: with /boot on its own small filesystem (a tmpfs in a private mount
// namespace holding a copy of the sysroot's boot/), a deploy whose kernel does not fit is refused
// before anything is written, naming the bytes needed and free — the boot set, the deployment
// folders and ostree's view stay as they were — and the same deploy succeeds when /boot is big
// enough. libostree 2022.7 has no such check (it fails with ENOSPC part-way through /boot).

import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, ok, ostree, run, sh } from '../helpers/interop.ts';
import { REF, bootedSupport, makeOsFixture, statusList, type OsFixture } from './booted.ts';

const unsupported = bootedSupport();

describeInterop('/boot space check', () => {
  if (unsupported) {
    if (process.env.CI === 'true') it('needs mount namespaces', () => expect.fail(`unavailable: ${unsupported}`));
    else it.skip(`mount namespaces unavailable: ${unsupported}`, () => undefined);
    return;
  }
  vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });
  let tmp: TempDir;
  let fx: OsFixture;
  let cli: string;
  let big: string;

  beforeAll(() => {
    tmp = new TempDir('xylem-space-');
    cli = buildCli();
    fx = makeOsFixture(tmp.path, 5);
    // v3: a 3 MB kernel (incompressible, so a tmpfs cannot cheat).
    const os = tmp.join('osdata');
    writeFileSync(join(os, 'usr/lib/modules/5.0/vmlinuz'), randomBytes(3 * 1024 * 1024));
    big = run('ostree', [`--repo=${fx.repo}`, 'commit', '--add-metadata-string=version=3', '-b', REF, `--tree=dir=${os}`]);
    run('ostree', [`--repo=${fx.base}/ostree/repo`, 'pull-local', fx.repo, big]);
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  /** Runs `xylem admin deploy` with the sysroot's boot/ on a tmpfs of `size`. */
  function deployWithBoot(sys: string, size: string): { status: number; stderr: string } {
    const script = `set -e
S=$1; SIZE=$2; shift 2
cp -a "$S/boot" "$S/boot.orig"
mount -t tmpfs -o size=$SIZE tmpfs "$S/boot"
cp -a "$S/boot.orig/." "$S/boot/"
set +e
"$@"; rc=$?
set -e
rm -rf "$S/boot.orig.after"; mkdir "$S/boot.orig.after"; cp -a "$S/boot/." "$S/boot.orig.after/"
umount "$S/boot"; rm -rf "$S/boot"; mv "$S/boot.orig.after" "$S/boot"; rm -rf "$S/boot.orig"
exit $rc`;
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', sys, size, process.execPath, cli, 'admin', `--sysroot=${sys}`, 'deploy', '--os=testos', big], {
      encoding: 'utf8',
      env: { ...process.env, OSTREE_SYSROOT_DEBUG: 'mutable-deployments' },
    });
    return { status: r.status ?? -1, stderr: r.stderr };
  }

  it('refuses a kernel that does not fit, writing nothing, and deploys when it fits', () => {
    const sys = tmp.join('small');
    sh('cp', ['-a', fx.base, sys]);
    const before = statusList(sys);
    const deploysBefore = readdirSync(join(sys, 'ostree/deploy/testos/deploy')).sort();
    const r = deployWithBoot(sys, '1m');
    expect(r.status).not.toBe(0);
    const m = /Not enough space in \/boot \(.*\/boot\): the new boot set needs ([\d.]+) MB \((\d+) bytes\), .* \((\d+) bytes\) is free/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThan(3 * 1024 * 1024);
    expect(Number(m![3])).toBeLessThan(1024 * 1024 + 1);
    expect(statusList(sys)).toEqual(before);
    expect(readdirSync(join(sys, 'ostree/deploy/testos/deploy')).sort()).toEqual(deploysBefore);
    expect(readdirSync(join(sys, 'boot/ostree')).filter((n) => n.startsWith('testos-')).length).toBe(1);
    ok(ostree([`--repo=${sys}/ostree/repo`, 'fsck']), 'fsck');

    const r2 = deployWithBoot(sys, '16m');
    expect(r2.status, r2.stderr).toBe(0);
    expect(statusList(sys)).toEqual([`${big}.0`, ...before]);
  });

  it('counts nothing for kernels /boot can hardlink (same filesystem)', async () => {
    const { createNodeHost } = await import('../../runtimes/node/index.ts');
    const { Sysroot, bootSpaceNeeded } = await import('../../src/sysroot/index.ts');
    const s = await Sysroot.load(createNodeHost(), fx.base);
    const d = s.deployments[0]!;
    const root = s.deploymentPath(d);
    // Its boot folder exists: only the entries count.
    const known = await bootSpaceNeeded(s, [{ osname: 'testos', bootcsum: d.bootcsum, root }]);
    expect(known.needed).toBe(4096 * 4);
    // A new boot checksum on the same filesystem: hardlinks, one block for its folder.
    const fresh = await bootSpaceNeeded(s, [{ osname: 'testos', bootcsum: 'f'.repeat(64), root }]);
    expect(fresh.needed).toBe(4096 * 5);
    expect(fresh.free).toBeGreaterThan(0);
  });
});
