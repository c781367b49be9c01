// The crash campaign's fixture, made once per run by the real ostree (the oracle): two versions of
// a tiny bootable OS tree (a kernel and initramfs under usr/lib/modules, some small files, a few
// hundred KB of seeded random data so writes span several chunks, symlinks), a remote archive repo
// with v1 → v2 on REF, its summary and a static delta v1 → v2 (plus a standalone copy for
// apply-offline), and the base repositories and sysroots the scenarios copy before each run.

import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootedArgv, cliInside, exec, must, rng } from './proc.mjs';

export const REF = 'testos/buildmain/x86_64-runtime';

function put(root, rel, data) {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), data);
}

function randomBytes(rand, n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (rand() * 256) | 0;
  return b;
}

/** Writes version `v` (1 or 2) of the OS tree into `os`. */
function writeOs(os, v, seed) {
  const rand = rng(seed);
  for (const d of ['usr/bin', 'usr/lib64', 'sysroot', 'boot', 'run', 'proc', 'dev', 'tmp', 'mnt', 'var']) mkdirSync(join(os, d), { recursive: true });
  put(os, 'usr/lib/modules/5.0/vmlinuz', v === 1 ? 'a kernel\n' : 'a new kernel\n');
  put(os, 'usr/lib/modules/5.0/initramfs.img', 'an initramfs\n');
  put(os, 'usr/etc/os-release', `NAME=TestOS\nPRETTY_NAME="TestOS ${v}"\n`);
  put(os, 'usr/etc/default.conf', 'default\n');
  for (let i = 0; i < 24; i++) put(os, `usr/share/data/f${i}`, `file ${i}${v === 2 && i % 5 === 0 ? ' changed' : ''}\n`);
  if (v === 2) for (let i = 0; i < 6; i++) put(os, `usr/share/new/n${i}`, `new ${i}\n`);
  // A big file that v2 changes in places (so the delta carries a bsdiff or a rewrite).
  const big = randomBytes(rand, 384 * 1024);
  if (v === 2) for (let i = 0; i < big.length; i += 4096) big[i] ^= 0x5a;
  put(os, 'usr/share/big.bin', big);
  put(os, 'usr/bin/tool', randomBytes(rand, 70 * 1024 + v));
  symlinkSync('tool', join(os, 'usr/bin/tool-alias'));
  for (const [l, t] of [['bin', 'usr/bin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64'], ['ostree', 'sysroot/ostree']]) symlinkSync(t, join(os, l));
}

const TS = ['2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z'];

/**
 * Builds everything under `dir`. `cli` is the xylem CLI (used only to stage a deployment in the
 * booted base, as the finalize scenario needs); `root` the checkout (bound at /mnt when booted).
 */
export async function buildFixture(dir, { seed, root, cli, booted }) {
  const ost = (...a) => must('ostree', a).trim();
  const fx = { dir, ref: REF };
  fx.tree1 = join(dir, 'tree1');
  fx.tree2 = join(dir, 'tree2');
  writeOs(fx.tree1, 1, seed);
  writeOs(fx.tree2, 2, seed);

  // The remote: v1 then v2 on REF, a delta, a summary.
  fx.remote = join(dir, 'remote');
  ost(`--repo=${fx.remote}`, 'init', '--mode=archive');
  fx.v1 = ost(`--repo=${fx.remote}`, 'commit', '-b', REF, '-s', 'v1', '--add-metadata-string=version=1', `--timestamp=${TS[0]}`, `--tree=dir=${fx.tree1}`);
  fx.v2 = ost(`--repo=${fx.remote}`, 'commit', '-b', REF, '-s', 'v2', '--add-metadata-string=version=2', `--timestamp=${TS[1]}`, `--tree=dir=${fx.tree2}`);
  ost(`--repo=${fx.remote}`, 'static-delta', 'generate', `--from=${fx.v1}`, `--to=${fx.v2}`);
  fx.deltaFile = join(dir, 'delta-v1-v2');
  ost(`--repo=${fx.remote}`, 'static-delta', 'generate', '--inline', `--from=${fx.v1}`, `--to=${fx.v2}`, `--filename=${fx.deltaFile}`);
  ost(`--repo=${fx.remote}`, 'summary', '-u');

  // Repos holding v1 on REF (archive and bare), for commit, pull, pull-local and delta apply.
  for (const mode of ['archive', 'bare']) {
    const r = join(dir, `base-${mode}`);
    ost(`--repo=${r}`, 'init', `--mode=${mode}`);
    ost(`--repo=${r}`, 'pull-local', fx.remote, fx.v1);
    ost(`--repo=${r}`, 'refs', '--create', REF, fx.v1);
    fx[`base_${mode}`] = r;
  }
  // A repo holding v1 → v2 on REF: prune --depth=0 deletes v1 and what only it reaches.
  fx.basePrune = join(dir, 'base-prune');
  ost(`--repo=${fx.basePrune}`, 'init', '--mode=archive');
  ost(`--repo=${fx.basePrune}`, 'pull-local', '--depth=1', fx.remote, REF);

  // A sysroot where ostree deployed v1 (origin REF) and REF points at v2.
  fx.sysroot = join(dir, 'sysroot');
  mkdirSync(fx.sysroot);
  ost('admin', 'init-fs', fx.sysroot);
  ost('admin', `--sysroot=${fx.sysroot}`, 'os-init', 'testos');
  ost(`--repo=${fx.sysroot}/ostree/repo`, 'pull-local', fx.remote, fx.v1);
  ost(`--repo=${fx.sysroot}/ostree/repo`, 'refs', '--create', REF, fx.v1);
  ost('admin', `--sysroot=${fx.sysroot}`, 'deploy', '--os=testos', '--karg=root=LABEL=x', REF);
  ost(`--repo=${fx.sysroot}/ostree/repo`, 'pull-local', fx.remote, fx.v2);
  ost(`--repo=${fx.sysroot}/ostree/repo`, 'reset', REF, fx.v2);
  fx.dep1 = (s) => join(s, 'ostree/deploy/testos/deploy', `${fx.v1}.0`);

  // The same sysroot booted into v1 with v2 staged by xylem (and its /run), for finalize-staged.
  if (booted) {
    fx.staged = join(dir, 'staged');
    fx.stagedRun = join(dir, 'staged-run');
    cpSync(fx.sysroot, fx.staged, { recursive: true, verbatimSymlinks: true });
    const [cmd, args] = bootedArgv(root, fx.staged, fx.dep1(fx.staged), fx.stagedRun, [...cliInside(root, cli), 'admin', 'deploy', '--stage', REF], {});
    const r = await exec(cmd, args);
    if (r.status !== 0) throw new Error(`staging v2 for the finalize base failed:\n${r.stderr}`);
  }
  return fx;
}

/** Removes a folder tree (deployments are left mutable, so plain rm works). */
export function removeTree(p) {
  rmSync(p, { recursive: true, force: true });
}
