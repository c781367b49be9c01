// rpm-xylem through a whole host life cycle on a throw-away sysroot that the real `ostree admin`
// created and deployed, following a repo served over HTTP on 127.0.0.1: status (line by line,
// JSON, booted marker), upgrade --check / --preview (the announced byte count equals what the
// server then sends), upgrade, exit 77 when unchanged, deploy by version (cycle-more.test.ts:
// rollback, kargs, reset, rebase, cleanup, --download-only). After every step `ostree admin status` (the oracle) must list the
// deployments in the order rpm-xylem reports, and `ostree fsck` stays clean.

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { describeInterop, ok, ostree } from '../helpers/interop.ts';
import { Fixture, REF, buildRpmXylem, disposeRpmXylem, sysrootCli } from './helpers.ts';

describeInterop('rpm-xylem: host life cycle against ostree admin', () => {
  vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });
  const fx = new Fixture();
  let bin: string;
  let c1: string;
  let c2: string;
  let booted: string;
  const { x, must, json, sameOrder } = sysrootCli(fx, () => bin, () => booted);
  /** The oracle's order alone (cheaper: no rpm-xylem run). */
  const order = async () => fx.adminOrder();

  beforeAll(async () => {
    bin = buildRpmXylem();
    c1 = await fx.setup();
    booted = `${c1}.0`;
  });
  afterAll(async () => {
    disposeRpmXylem(bin);
    await fx.dispose();
  });

  it('status: rpm-ostree layout, line by line; the booted deployment has ●', async () => {
    const out = await must(['status']);
    expect(out.split('\n')).toEqual([
      'State: idle',
      'Deployments:',
      `● testos:${REF}`,
      `                  Version: 1.0 (${fx.isoTime(c1)})`,
      `                   Commit: ${c1}`,
      '',
    ]);
    // Not booted (explicitly): two spaces instead of the marker; -b shows no deployment then.
    expect(await must(['status', '-b'], { XYLEM_BOOTED: 'none' })).toBe('State: idle\nBootedDeployment:\n');
    // -v adds the index, Staged and StateRoot.
    const v = (await must(['status', '-v'])).split('\n');
    expect(v.slice(0, 4)).toEqual(['State: idle', 'AutomaticUpdates: disabled', 'Deployments:', `● testos:${REF} (index: 0)`]);
    expect(v).toContain('                   Staged: no');
    expect(v).toContain('                StateRoot: testos');
    const j = await json();
    expect(j.transaction).toBeNull();
    expect(j.deployments).toHaveLength(1);
    expect(j.deployments[0]).toMatchObject({ id: `testos-${c1}.0`, osname: 'testos', serial: 0, checksum: c1, booted: true, origin: `testos:${REF}`, version: '1.0', pinned: false, unlocked: 'none' });
    expect(fx.adminOrder()).toEqual([`${c1}.0`]);
    // The ostree= kernel argument rule: the boot link of the first entry names the deployment.
    const entries = join(fx.sys, 'boot/loader/entries');
    const conf = readFileSync(join(entries, readdirSync(entries)[0]!), 'utf8');
    const karg = /(ostree=\S+)/.exec(conf)![1]!;
    const viaCmdline = await must(['status'], { XYLEM_BOOTED: '', XYLEM_PROC_CMDLINE: `quiet ${karg} rw` });
    expect(viaCmdline.split('\n')[2]).toBe(`● testos:${REF}`);
    // A booted spec naming nothing in this sysroot is an error, not "not booted".
    const bad = await x(['status'], { XYLEM_BOOTED: `${'0'.repeat(64)}.0` });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^error: Booted deployment '0{64}\.0' is not in the boot loader entries/);
  });

  it('upgrade --check without a new commit: "No updates available." and exit 77', async () => {
    const r = await x(['upgrade', '--check']);
    expect(r.status).toBe(77);
    expect(r.stdout).toBe('No updates available.\n');
  });

  it('upgrade --check and --preview announce the update without touching the sysroot; --preview bytes are what the pull then downloads', async () => {
    c2 = fx.commit(REF, '2.0', { 'usr/bin/newtool': 'new\n', 'usr/lib/modules/6.1/vmlinuz': 'kernel 2\n' });
    const check = await x(['upgrade', '--check']);
    expect(check.status).toBe(0);
    expect(check.stdout.split('\n')).toEqual(['AvailableUpdate:', `        Version: 2.0 (${fx.isoTime(c2)})`, `         Commit: ${c2}`, '']);
    const preview = await x(['upgrade', '--preview']);
    expect(preview.status).toBe(0);
    const lines = preview.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual(['AvailableUpdate:', `        Version: 2.0 (${fx.isoTime(c2)})`, `         Commit: ${c2}`, '           Diff: 1 added, 1 modified, 0 removed']);
    expect(lines.slice(5)).toEqual(['          Added: /usr/bin/newtool', '       Modified: /usr/lib/modules/6.1/vmlinuz', '']);
    const m = /^       Download: (\d+) bytes \(.*\) in (\d+) objects$/.exec(lines[4]!);
    expect(m, lines[4]).not.toBeNull();
    // Nothing was written: the commit is not in the sysroot repo, the deployments are unchanged.
    expect(ostree([`--repo=${fx.sys}/ostree/repo`, 'show', c2]).status).not.toBe(0);
    expect(fx.adminOrder()).toEqual([`${c1}.0`]);

    fx.server.resetCounters();
    const up = await x(['upgrade']);
    expect(up.status, up.stderr).toBe(0);
    expect(fx.server.objectBytes).toBe(Number(m![1]));
    expect(fx.server.objectRequests.length).toBe(Number(m![2]));
    expect(up.stdout).toMatch(/^Updating from: testos:testos\/stable\n/);
    expect(up.stdout).toContain('Checking out tree ');
    expect(up.stdout.endsWith('Run "systemctl reboot" to start a reboot\n')).toBe(true);
    expect(await sameOrder()).toEqual([`${c2}.0`, `${c1}.0`]);
    const out = await must(['status']);
    expect(out.split('\n')).toEqual([
      'State: idle',
      'Deployments:',
      `  testos:${REF}`,
      `                  Version: 2.0 (${fx.isoTime(c2)})`,
      `                   Commit: ${c2}`,
      '',
      `● testos:${REF}`,
      `                  Version: 1.0 (${fx.isoTime(c1)})`,
      `                   Commit: ${c1}`,
      '',
    ]);
    fx.fsck();
  });

  it('upgrade with nothing new: exit 0, or 77 with --unchanged-exit-77', async () => {
    const r = await x(['upgrade']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('No upgrade available.\n');
    expect((await x(['upgrade', '--unchanged-exit-77'])).status).toBe(77);
    expect(fx.adminOrder()).toEqual([`${c2}.0`, `${c1}.0`]);
  });

  it('deploy VERSION pins the origin to that commit of the ref history; unknown versions fail', async () => {
    const r = await x(['deploy', '1.0']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Resolving version '1\.0'\n/);
    // The booted 1.0 stays; the new deployment of the same commit gets serial 1.
    expect(await sameOrder()).toEqual([`${c1}.1`, `${c1}.0`]);
    const origin = readFileSync(join(fx.sys, `ostree/deploy/testos/deploy/${c1}.1.origin`), 'utf8');
    expect(origin).toContain(`override-commit=${c1}`);
    const again = await x(['deploy', '1.0', '--unchanged-exit-77']);
    expect(again.status).toBe(77);
    expect(again.stdout).toContain('No change.\n');
    const bad = await x(['deploy', '9.9']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe(`error: Version 9.9 not found in testos:${REF}\n`);
    const byCsum = await x(['deploy', c2]);
    expect(byCsum.status, byCsum.stderr).toBe(0);
    expect(byCsum.stdout).toMatch(new RegExp(`^Validating checksum '${c2}'\\n`));
    expect(await order()).toEqual([`${c2}.0`, `${c1}.0`]);
    // A plain upgrade drops the pin again.
    await must(['upgrade']);
    const [first] = await order();
    expect(readFileSync(join(fx.sys, `ostree/deploy/testos/deploy/${first}.origin`), 'utf8')).not.toContain('override-commit');
  });
});
