// rpm-xylem on a booted system (emulated: see test/sysroot/booted.ts) stages what upgrade,
// deploy and rebase make, as rpm-ostree does by default: the boot set is untouched until
// ostree-finalize-staged at shutdown, `status -v` shows the new deployment first with
// `Staged: yes` (and `--json` "staged": true), `ostree admin status` lists it "(staged)", and the
// real ostree finalizes it. --lock-finalization makes finalization wait. Not booted (a throw-away
// sysroot, cycle.test.ts), the boot set is written at once.

import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { ROOT, TempDir, describeInterop, ok, run, type RunResult } from '../helpers/interop.ts';
import { booted, bootedSupport, deployDir, makeOsFixture, statusList, type OsFixture } from '../sysroot/booted.ts';
import { buildRpmXylem, cli, disposeRpmXylem } from './helpers.ts';

const unsupported = bootedSupport();

describeInterop('rpm-xylem stages on a booted system', () => {
  if (unsupported) {
    if (process.env.CI === 'true') it('needs booted emulation', () => expect.fail(`booted emulation unavailable: ${unsupported}`));
    else {
      console.warn(`\n!!! rpm-xylem staging: SKIPPED — ${unsupported} !!!\n`);
      it.skip('booted emulation unavailable', () => undefined);
    }
    return;
  }
  vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });
  let tmp: TempDir;
  let fx: OsFixture;
  let bin: string;

  beforeAll(() => {
    tmp = new TempDir('xylem-rpm-staged-');
    bin = buildRpmXylem();
    fx = makeOsFixture(tmp.path, 5);
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeRpmXylem(bin);
  });

  const fresh = (name: string) => {
    const sys = tmp.join(name);
    cpSync(fx.base, sys, { recursive: true, verbatimSymlinks: true });
    return { sys, dep: deployDir(sys, fx.v1), runDir: tmp.join(`${name}-run`) };
  };
  /** rpm-xylem inside the booted namespace (sysroot "/", run dir = runDir). */
  const rpm = (s: ReturnType<typeof fresh>, args: string[]): RunResult =>
    booted(s.sys, s.dep, s.runDir, ['/usr/bin/node', join('/mnt', relative(ROOT, bin)), ...args], null, { XYLEM_PROC_CMDLINE: '' });

  it('upgrade stages; status shows Staged: yes; ostree lists it as staged and finalizes it', () => {
    const s = fresh('up');
    const up = ok(rpm(s, ['upgrade']), 'rpm-xylem upgrade');
    expect(up).toContain('Staging deployment... done');
    expect(up).toContain('Run "systemctl reboot" to start a reboot');
    // The boot set has not changed: only the state file in the run directory names v2.
    expect(statusList(s.sys)).toEqual([`${fx.v1}.0`]);
    expect(existsSync(join(s.runDir, 'ostree/staged-deployment'))).toBe(true);
    expect(existsSync(deployDir(s.sys, fx.v2))).toBe(true);

    const st = ok(rpm(s, ['status', '-v']), 'rpm-xylem status -v');
    const blocks = st.split('\n\n');
    expect(blocks[0]).toContain(`Commit: ${fx.v2}`);
    expect(blocks[0]).toMatch(/^ +Staged: yes$/m);
    expect(blocks[1]).toMatch(/^● /m);
    expect(blocks[1]).toContain(`Commit: ${fx.v1}`);
    expect(blocks[1]).not.toMatch(/Staged:/);
    const json = JSON.parse(ok(rpm(s, ['status', '--json']), 'status --json')) as { deployments: Array<{ checksum: string; staged: boolean; booted: boolean }> };
    expect(json.deployments.map((d) => [d.checksum, d.staged, d.booted])).toEqual([
      [fx.v2, true, false],
      [fx.v1, false, true],
    ]);
    expect(ok(booted(s.sys, s.dep, s.runDir, ['ostree', 'admin', 'status']), 'ostree admin status')).toContain(`${fx.v2}.0 (staged)`);

    // An /etc change made after staging is carried over when ostree finalizes at "shutdown".
    writeFileSync(join(s.dep, 'etc/late.conf'), 'late\n');
    ok(booted(s.sys, s.dep, s.runDir, ['ostree', 'admin', 'finalize-staged']), 'ostree finalize-staged');
    expect(statusList(s.sys)).toEqual([`${fx.v2}.0`, `${fx.v1}.0`]);
    expect(readFileSync(join(deployDir(s.sys, fx.v2), 'etc/late.conf'), 'utf8')).toBe('late\n');
    const after = ok(rpm(s, ['status', '-v']), 'rpm-xylem status -v after finalization');
    expect(after.split('\n\n')[0]).toMatch(/^ +Staged: no$/m);
    run('ostree', [`--repo=${s.sys}/ostree/repo`, 'fsck']);
  });

  it('deploy and rebase stage too; --lock-finalization makes finalize-staged wait', () => {
    const s = fresh('deploy');
    ok(rpm(s, ['deploy', fx.v2]), 'rpm-xylem deploy');
    expect(statusList(s.sys)).toEqual([`${fx.v1}.0`]);
    const origin = readFileSync(`${deployDir(s.sys, fx.v2)}.origin`, 'utf8');
    expect(origin).toContain(`override-commit=${fx.v2}`);
    expect(ok(booted(s.sys, s.dep, s.runDir, ['ostree', 'admin', 'status']), 'ostree admin status')).toContain(`${fx.v2}.0 (staged)`);

    const r = fresh('rebase');
    run('ostree', [`--repo=${r.sys}/ostree/repo`, 'refs', '--create', 'testos/other', fx.v2]);
    ok(rpm(r, ['rebase', ':testos/other']), 'rpm-xylem rebase');
    expect(statusList(r.sys)).toEqual([`${fx.v1}.0`]);
    expect(readFileSync(`${deployDir(r.sys, fx.v2)}.origin`, 'utf8')).toContain('refspec=testos/other');

    const l = fresh('locked');
    ok(rpm(l, ['upgrade', '--lock-finalization']), 'rpm-xylem upgrade --lock-finalization');
    expect(existsSync(join(l.runDir, 'ostree/staged-deployment-locked'))).toBe(true);
    ok(booted(l.sys, l.dep, l.runDir, ['ostree', 'admin', 'finalize-staged']), 'ostree finalize-staged');
    expect(statusList(l.sys)).toEqual([`${fx.v1}.0`]);
  });

  it('not booted (a throw-away sysroot), the boot set is written at once and --lock-finalization is refused', async () => {
    const s = fresh('notbooted');
    const env = { XYLEM_BOOTED: `${fx.v1}.0`, XYLEM_PROC_CMDLINE: '' };
    const locked = await cli(bin, ['upgrade', '--lock-finalization', `--sysroot=${s.sys}`], env);
    expect(locked.status).not.toBe(0);
    expect(locked.stderr).toContain('--lock-finalization needs a staged deployment');
    const up = await cli(bin, ['upgrade', `--sysroot=${s.sys}`], env);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout).not.toContain('Staging');
    expect(statusList(s.sys)).toEqual([`${fx.v2}.0`, `${fx.v1}.0`]);
  });
});
