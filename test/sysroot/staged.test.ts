// Staged deployments against the real ostree, on a booted system (emulated: see booted.ts):
// what one tool stages the other lists as "(staged)" and finalizes; the /etc merge is taken at
// finalization; a failed finalization leaves boot/ostree/finalize-failure.stamp, which xylem's
// status reports and `admin boot-complete` (xylem's and ostree's) turns into an error. Not booted,
// both tools refuse to stage.

import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, ok, ostree, xylem } from '../helpers/interop.ts';
import { REF, booted, bootedSupport, commitUsrPaths, deployDir, entriesComplete, makeOsFixture, statusList, type OsFixture } from './booted.ts';
import { decodeStagedState, encodeStagedState } from '../../src/sysroot/staged.ts';

const unsupported = bootedSupport();

describeInterop('staged deployments (booted, xylem <-> ostree)', () => {
  if (unsupported) {
    if (process.env.CI === 'true') it('needs booted emulation', () => expect.fail(`booted emulation unavailable: ${unsupported}`));
    else {
      console.warn(`\n!!! staged deployments: SKIPPED — ${unsupported} !!!\n`);
      it.skip('booted emulation unavailable', () => undefined);
    }
    return;
  }
  vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });
  let tmp: TempDir;
  let fx: OsFixture;
  let cli: string;
  const usr = new Map<string, string[]>();
  const expectUsr = (c: string) => usr.get(c) ?? commitUsrPaths(fx.repo, c);

  beforeAll(() => {
    tmp = new TempDir('xylem-staged-');
    cli = buildCli();
    fx = makeOsFixture(tmp.path, 10);
    for (const c of [fx.v1, fx.v2]) usr.set(c, commitUsrPaths(fx.repo, c));
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  function fresh(name: string): { sys: string; dep: string; runDir: string } {
    const sys = tmp.join(name);
    cpSync(fx.base, sys, { recursive: true, verbatimSymlinks: true });
    return { sys, dep: deployDir(sys, fx.v1), runDir: tmp.join(`${name}-run`) };
  }

  it('not booted: both refuse to stage', () => {
    const { sys } = fresh('notbooted');
    for (const r of [ostree(['admin', `--sysroot=${sys}`, 'deploy', '--stage', '--os=testos', REF]), xylem(['admin', `--sysroot=${sys}`, 'deploy', '--stage', '--os=testos', REF])]) {
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('Cannot stage deployment: Not currently booted into an OSTree system');
    }
  });

  it('ostree stages; xylem lists it as ostree does and finalizes it with the /etc of that moment', () => {
    const { sys, dep, runDir } = fresh('o2x');
    ok(booted(sys, dep, runDir, ['ostree', 'admin', 'deploy', '--stage', REF]), 'ostree deploy --stage');
    const os = ok(booted(sys, dep, runDir, ['ostree', 'admin', 'status']), 'ostree status');
    const xs = ok(booted(sys, dep, runDir, ['xylem', 'admin', 'status'], cli), 'xylem status');
    expect(os).toContain(`${fx.v2}.0 (staged)`);
    expect(xs).toBe(os);
    // Nothing is bootable yet.
    expect(statusList(sys)).toEqual([`${fx.v1}.0`]);
    // The administrator changes /etc after staging: finalization must carry it over.
    writeFileSync(join(dep, 'etc/late.conf'), 'changed after staging\n');
    const fin = ok(booted(sys, dep, runDir, ['xylem', 'admin', 'finalize-staged'], cli), 'xylem finalize-staged');
    expect(fin).toContain('Copying /etc changes: 0 modified, 0 removed, 1 added');
    expect(existsSync(join(runDir, 'ostree/staged-deployment'))).toBe(false);
    expect(statusList(sys)).toEqual([`${fx.v2}.0`, `${fx.v1}.0`]);
    expect(readFileSync(join(deployDir(sys, fx.v2), 'etc/late.conf'), 'utf8')).toBe('changed after staging\n');
    expect(entriesComplete(sys, expectUsr)).toEqual([`${fx.v2}.0`, `${fx.v1}.0`]);
    ok(ostree([`--repo=${sys}/ostree/repo`, 'fsck']), 'ostree fsck');
    expect(ok(booted(sys, dep, runDir, ['ostree', 'admin', 'status']), 'ostree status')).toContain(`${fx.v2}.0 (pending)`);
  });

  it('xylem stages (deploy --stage --karg, then upgrade --stage replaces it); ostree lists and finalizes it', () => {
    const { sys, dep, runDir } = fresh('x2o');
    ok(booted(sys, dep, runDir, ['xylem', 'admin', 'deploy', '--stage', '--karg=quiet', fx.v1], cli), 'xylem deploy --stage');
    const first = ok(booted(sys, dep, runDir, ['ostree', 'admin', 'status']), 'ostree status');
    expect(first).toContain(`${fx.v1}.1 (staged)`);
    const state = decodeStagedState(readFileSync(join(runDir, 'ostree/staged-deployment')), 'staged-deployment')!;
    // As ostree: the merge deployment's arguments (its ostree= is replaced when written) plus --karg.
    expect(state.kargs!.filter((k) => !k.startsWith('ostree='))).toEqual(['root=LABEL=x', 'quiet']);
    expect(state.merge).toMatchObject({ csum: fx.v1, deployserial: 0 });
    const up = ok(booted(sys, dep, runDir, ['xylem', 'admin', 'upgrade', '--stage'], cli), 'xylem upgrade --stage');
    expect(up).not.toContain('No update available');
    const os = ok(booted(sys, dep, runDir, ['ostree', 'admin', 'status']), 'ostree status');
    expect(os).toContain(`${fx.v2}.0 (staged)`);
    expect(os).not.toContain(`${fx.v1}.1`);
    expect(existsSync(deployDir(sys, fx.v1, 1))).toBe(false);
    expect(ok(booted(sys, dep, runDir, ['xylem', 'admin', 'status'], cli), 'xylem status')).toBe(os);
    writeFileSync(join(dep, 'etc/late.conf'), 'late\n');
    ok(booted(sys, dep, runDir, ['ostree', 'admin', 'finalize-staged']), 'ostree finalize-staged');
    expect(statusList(sys)).toEqual([`${fx.v2}.0`, `${fx.v1}.0`]);
    expect(readFileSync(join(deployDir(sys, fx.v2), 'etc/late.conf'), 'utf8')).toBe('late\n');
    expect(entriesComplete(sys, expectUsr)).toEqual([`${fx.v2}.0`, `${fx.v1}.0`]);
    ok(ostree([`--repo=${sys}/ostree/repo`, 'fsck']), 'ostree fsck');
  });

  it('a normal deploy drops the staged deployment; --lock-finalization makes finalize-staged do nothing', () => {
    const { sys, dep, runDir } = fresh('drop');
    ok(booted(sys, dep, runDir, ['xylem', 'admin', 'deploy', '--stage', '--lock-finalization', fx.v2], cli), 'xylem deploy --stage');
    const fin = ok(booted(sys, dep, runDir, ['xylem', 'admin', 'finalize-staged'], cli), 'finalize-staged');
    expect(fin).toContain('Not finalizing; found /run/ostree/staged-deployment-locked');
    expect(statusList(sys)).toEqual([`${fx.v1}.0`]);
    ok(booted(sys, dep, runDir, ['xylem', 'admin', 'deploy', fx.v1], cli), 'xylem deploy');
    expect(existsSync(join(runDir, 'ostree/staged-deployment'))).toBe(false);
    expect(existsSync(deployDir(sys, fx.v2))).toBe(false);
    expect(ok(booted(sys, dep, runDir, ['ostree', 'admin', 'status']), 'ostree status')).not.toContain('staged');
    expect(statusList(sys)).toEqual([`${fx.v1}.1`, `${fx.v1}.0`]);
  });

  it('a failed finalization is recorded and reported at the next boot', () => {
    const { sys, dep, runDir } = fresh('fail');
    ok(booted(sys, dep, runDir, ['xylem', 'admin', 'deploy', '--stage', fx.v2], cli), 'xylem deploy --stage');
    // The staged tree loses its kernel: finalization cannot install it.
    rmSync(join(deployDir(sys, fx.v2), 'usr/lib/modules/5.0/vmlinuz'));
    const fin = booted(sys, dep, runDir, ['xylem', 'admin', 'finalize-staged'], cli);
    expect(fin.status).not.toBe(0);
    const stamp = readFileSync(join(sys, 'boot/ostree/finalize-failure.stamp'), 'utf8');
    expect(stamp.length).toBeGreaterThan(0);
    expect(statusList(sys)).toEqual([`${fx.v1}.0`]);
    // "Next boot": the run folder is gone.
    rmSync(join(runDir, 'ostree'), { recursive: true, force: true });
    const st = booted(sys, dep, runDir, ['xylem', 'admin', 'status'], cli);
    expect(st.status).toBe(0);
    expect(st.stderr).toContain(`ostree-finalize-staged.service failed on previous boot: ${stamp}`);
    // ostree's boot-complete reads xylem's stamp, reports it and removes it.
    const bc = booted(sys, dep, runDir, ['ostree', 'admin', 'boot-complete'], null, { INVOCATION_ID: 'xylem-test' });
    expect(bc.status).not.toBe(0);
    expect(bc.stderr).toContain(`ostree-finalize-staged.service failed on previous boot: ${stamp}`);
    expect(existsSync(join(sys, 'boot/ostree/finalize-failure.stamp'))).toBe(false);
    ok(booted(sys, dep, runDir, ['xylem', 'admin', 'boot-complete'], cli), 'xylem boot-complete without a stamp');
  });
});

describe('staged-deployment file', () => {
  it('round-trips and refuses hostile contents', () => {
    const stub = { osname: 'testos', csum: 'a'.repeat(64), deployserial: 3, bootcsum: 'b'.repeat(64) };
    const bytes = encodeStagedState({ target: stub, merge: { ...stub, deployserial: 0 }, kargs: ['root=x', 'quiet'], overlayInitrds: null });
    expect(decodeStagedState(bytes, 'f')).toEqual({ target: stub, merge: { ...stub, deployserial: 0 }, kargs: ['root=x', 'quiet'], overlayInitrds: null });
    const bad = encodeStagedState({ target: { ...stub, osname: '../x' }, merge: null, kargs: null, overlayInitrds: null });
    expect(() => decodeStagedState(bad, 'f')).toThrow(/Invalid osname/);
    expect(() => decodeStagedState(bytes.subarray(0, bytes.length - 3), 'f')).toThrow(/not a staged deployment/);
  });
});
