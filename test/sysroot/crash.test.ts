// Crash safety of publishing a boot set: a deploy of v2 onto a sysroot that boots v1 (made by the
// real ostree) is interrupted at every filesystem mutation of the write phase in turn (the host
// throws, as if the machine died right there; earlier operations are kept). After each crash the
// real `ostree admin status` must read either the old boot set or the new one — never a mix —
// every boot entry must lead to an existing deployment, and xylem must recover (deploy again
// and clean up) to the same state as an uninterrupted run.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TempDir, describeInterop, ok, ostree, run } from '../helpers/interop.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import type { FsHost, Host } from '../../src/host.ts';
import { KeyFile } from '../../src/format/keyfile.ts';
import { Sysroot, deployTree, simpleWriteDeployment } from '../../src/sysroot/index.ts';

process.env.OSTREE_SYSROOT_DEBUG = 'mutable-deployments';
const REF = 'testos/buildmain/x86_64-runtime';

const MUTATING = new Set(['writeFile', 'openWrite', 'rename', 'link', 'symlink', 'unlink', 'rmdir', 'rmrf', 'mkdir', 'chmod', 'lchown', 'copyFile', 'lutimes']);

/** A host whose fs throws on the Nth mutating call once armed; counts calls either way. */
function faultyHost(): { host: Host; arm(n: number | null): void; count(): number } {
  const base = createNodeHost();
  let armedAt: number | null = null;
  let n = 0;
  const fs = new Proxy(base.fs, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function' || !MUTATING.has(String(prop))) return typeof v === 'function' ? v.bind(target) : v;
      return async (...args: unknown[]) => {
        n++;
        if (armedAt !== null && n >= armedAt) throw new Error(`injected crash at mutation ${n} (${String(prop)})`);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as FsHost;
  return {
    host: { ...base, fs, env: { OSTREE_SYSROOT_DEBUG: 'mutable-deployments' } },
    arm(k) {
      armedAt = k;
      n = 0;
    },
    count: () => n,
  };
}

/** The deployments `ostree admin status` lists, as "csum.serial" lines. */
function statusDeployments(sys: string): string[] {
  const out = ok(ostree(['admin', `--sysroot=${sys}`, 'status']), 'ostree admin status');
  return out
    .split('\n')
    .filter((l) => /^[* ] \S+ [0-9a-f]{64}\.\d+/.test(l))
    .map((l) => l.split(' ')[3]!);
}

/** Every entry of the current loader folder points (through ostree/boot.B) at a real deployment. */
function entriesResolve(sys: string): void {
  const loader = readlinkSync(join(sys, 'boot/loader'));
  const dir = join(sys, 'boot', loader, 'entries');
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), 'utf8');
    const m = /ostree=(\/ostree\/boot\.\d\/\S+)/.exec(text);
    expect(m, `${name} has an ostree= argument`).not.toBeNull();
    const target = readlinkSync(join(sys, m![1]!));
    expect(readdirSync(join(sys, m![1]!, '..', target)).length).toBeGreaterThan(0);
    const linux = /^linux (\S+)$/m.exec(text)![1]!;
    expect(readFileSync(join(sys, 'boot', linux)).length).toBeGreaterThan(0);
  }
}

describeInterop('sysroot: a crash while publishing leaves the old or the new boot set', () => {
  vi.setConfig({ testTimeout: 600_000, hookTimeout: 240_000 });
  let tmp: TempDir;
  let base: string;
  let v1: string;
  let v2: string;

  beforeAll(() => {
    tmp = new TempDir('xylem-crash-');
    const os = tmp.join('osdata');
    const put = (rel: string, s: string) => {
      mkdirSync(join(os, rel, '..'), { recursive: true });
      writeFileSync(join(os, rel), s);
    };
    put('usr/lib/modules/3.6.0/vmlinuz', 'a kernel\n');
    put('usr/lib/modules/3.6.0/initramfs.img', 'an initramfs\n');
    put('usr/etc/os-release', 'NAME=TestOS\nPRETTY_NAME="TestOS 42"\n');
    put('usr/bin/sh', 'sh\n');
    symlinkSync('usr/bin', join(os, 'bin'));
    const repo = tmp.join('repo');
    run('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
    v1 = run('ostree', [`--repo=${repo}`, 'commit', '--bootable', '--add-metadata-string=version=1', '-b', REF, `--tree=dir=${os}`]);
    put('usr/lib/modules/3.6.0/vmlinuz', 'a new kernel\n');
    v2 = run('ostree', [`--repo=${repo}`, 'commit', '--bootable', '--add-metadata-string=version=2', '-b', REF, `--tree=dir=${os}`]);
    base = tmp.join('base');
    mkdirSync(base);
    run('ostree', ['admin', 'init-fs', base]);
    run('ostree', ['admin', `--sysroot=${base}`, 'os-init', 'testos']);
    run('ostree', [`--repo=${base}/ostree/repo`, 'pull-local', '--remote=testos', repo, REF]);
    run('ostree', [`--repo=${base}/ostree/repo`, 'pull-local', repo, v1]);
    run('ostree', ['admin', `--sysroot=${base}`, 'deploy', '--os=testos', '--karg=root=LABEL=x', v1]);
  });
  afterAll(() => tmp?.cleanup());

  /** Copies the base sysroot; deploys v2 with the fault armed for the write phase only. */
  async function attempt(name: string, crashAt: number | null): Promise<{ sys: string; writes: number; crashed: boolean }> {
    const sys = tmp.join(name);
    execFileSync('cp', ['-a', base, sys]);
    const f = faultyHost();
    const sysroot = await Sysroot.load(f.host, sys);
    const merge = sysroot.mergeDeployment('testos');
    const origin = KeyFile.parse(`[origin]\nrefspec=testos:${REF}\n`);
    const d = await deployTree(sysroot, { osname: 'testos', revision: v2, origin, mergeDeployment: merge });
    f.arm(crashAt);
    let crashed = false;
    try {
      await simpleWriteDeployment(sysroot, 'testos', d, merge);
    } catch (e) {
      if (!/injected crash/.test((e as Error).message)) throw e;
      crashed = true;
    }
    const writes = f.count();
    // A real crash ends the process, and with it the sysroot lock it held.
    f.arm(null);
    await sysroot.unlock();
    return { sys, writes, crashed };
  }

  it('every crash point leaves a consistent boot set that xylem recovers from', async () => {
    const clean = await attempt('clean', null);
    const oldSet = statusDeployments(base);
    const newSet = statusDeployments(clean.sys);
    expect(oldSet).toEqual([`${v1}.0`]);
    expect(newSet).toEqual([`${v2}.0`, `${v1}.0`]);
    expect(clean.writes).toBeGreaterThan(10);
    let sawOld = 0;
    let sawNew = 0;
    for (let k = 1; k <= clean.writes; k++) {
      const r = await attempt(`crash-${k}`, k);
      expect(r.crashed).toBe(true);
      const got = statusDeployments(r.sys);
      if (JSON.stringify(got) === JSON.stringify(oldSet)) sawOld++;
      else {
        expect(got, `crash at mutation ${k}`).toEqual(newSet);
        sawNew++;
      }
      entriesResolve(r.sys);
      // Recovery: the next xylem run loads it and converges on the uninterrupted result.
      const host = { ...createNodeHost(), env: { OSTREE_SYSROOT_DEBUG: 'mutable-deployments' } };
      const s = await Sysroot.load(host, r.sys);
      if (s.deployments.length === 1) {
        const merge = s.mergeDeployment('testos');
        const d = await deployTree(s, { osname: 'testos', revision: v2, origin: KeyFile.parse(`[origin]\nrefspec=testos:${REF}\n`), mergeDeployment: merge });
        await simpleWriteDeployment(s, 'testos', d, merge);
      } else {
        const { cleanupSysroot } = await import('../../src/sysroot/index.ts');
        await cleanupSysroot(s);
      }
      expect(statusDeployments(r.sys).map((x) => x.split('.')[0])).toEqual([v2, v1]);
      entriesResolve(r.sys);
      execFileSync('rm', ['-rf', r.sys]);
    }
    // The switch-over is one rename: crashes before it keep the old set, after it the new one.
    expect(sawOld).toBeGreaterThan(0);
    expect(sawNew).toBeGreaterThan(0);
  });
});
