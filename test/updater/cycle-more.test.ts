// rpm-xylem's life cycle, second half (cycle.test.ts has the first): on a sysroot with a booted
// 1.0 and an upgrade to 2.0 pending — rollback, kargs, reset, rebase, cleanup, --download-only
// and -r. `ostree admin status` (the oracle) must list the deployments in the order rpm-xylem
// reports, and `ostree fsck` stays clean.

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { describeInterop, ok, ostree } from '../helpers/interop.ts';
import { Fixture, REF, buildRpmXylem, disposeRpmXylem, sysrootCli } from './helpers.ts';

describeInterop('rpm-xylem: host life cycle against ostree admin (2)', () => {
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
    c2 = fx.commit(REF, '2.0', { 'usr/bin/newtool': 'new\n' });
    await must(['upgrade']);
    expect(fx.adminOrder()).toEqual([`${c2}.0`, `${c1}.0`]);
  });
  afterAll(async () => {
    disposeRpmXylem(bin);
    await fx.dispose();
  });

  it('rollback puts the booted deployment back on top (and back again)', async () => {
    const before = fx.adminOrder();
    const r = await x(['rollback']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Moving '${c1}\\.0' to be first deployment\\n`));
    expect(await sameOrder()).toEqual([`${c1}.0`, before[0]]);
    const again = await x(['rollback']);
    expect(again.status).toBe(0);
    expect(await order()).toEqual(before);
  });

  it('kargs: prints, edits into a new deployment, exit 77 when nothing changes', async () => {
    expect(await must(['kargs'])).toBe('root=LABEL=rootfs\n');
    const r = await x(['kargs', '--append=quiet', '--replace=root=LABEL=other']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Kernel arguments updated.\n');
    expect(await order()).toHaveLength(2);
    const entries = join(fx.sys, 'boot/loader/entries');
    const first = readdirSync(entries).find((n) => n.startsWith('ostree-2-'))!;
    expect(readFileSync(join(entries, first), 'utf8')).toMatch(/^options root=LABEL=other quiet ostree=\/ostree\/boot\.\d\/testos\/[0-9a-f]{64}\/\d$/m);
    // The booted deployment (kargs act on it) still has the old arguments.
    expect(await must(['kargs'])).toBe('root=LABEL=rootfs\n');
    const same = await x(['kargs', '--append-if-missing=root=x', '--unchanged-exit-77']);
    expect(same.status).toBe(77);
    expect(same.stdout).toBe('No changes.\n');
    const missing = await x(['kargs', '--delete=nosuch']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe("error: No karg 'nosuch' found\n");
  });

  it('reset drops the origin\'s layering requests in a new deployment of the same commit', async () => {
    const [first] = fx.adminOrder();
    const originPath = join(fx.sys, `ostree/deploy/testos/deploy/${first}.origin`);
    writeFileSync(originPath, `${readFileSync(originPath, 'utf8')}\n[packages]\nrequested=strace;tmux;\n`);
    expect(await must(['status', '-v'])).toContain('         InactiveRequests: strace tmux\n');
    const r = await x(['reset']);
    expect(r.status, r.stderr).toBe(0);
    const ids = await sameOrder();
    expect(ids[0]!.slice(0, 64)).toBe(first!.slice(0, 64));
    expect(ids[0]).not.toBe(first);
    expect((await json()).deployments[0]!['requested-packages']).toEqual([]);
    expect(readFileSync(join(fx.sys, `ostree/deploy/testos/deploy/${ids[0]}.origin`), 'utf8')).not.toContain('[packages]');
    const again = await x(['reset']);
    expect(again.status).toBe(0);
    expect(again.stdout).toBe('No change.\n');
  });

  it('rebase switches the origin to another branch and drops the old ref', async () => {
    const c10 = fx.commit('testos/other', '10.0', { 'usr/share/other': 'other\n' });
    const r = await x(['rebase', 'testos/other']);
    expect(r.status, r.stderr).toBe(0);
    expect(await order()).toEqual([`${c10}.0`, `${c1}.0`]);
    expect((await json()).deployments[0]).toMatchObject({ origin: 'testos:testos/other', checksum: c10, version: '10.0' });
    const refs = ok(ostree([`--repo=${fx.sys}/ostree/repo`, 'refs'])).split('\n');
    expect(refs).toContain('testos:testos/other');
    expect(refs).not.toContain(`testos:${REF}`);
    const same = await x(['rebase', 'testos:testos/other']);
    expect(same.status).toBe(1);
    expect(same.stderr).toBe('error: Old and new refs are equal: testos:testos/other\n');
    fx.fsck();
  });

  it('cleanup: -r drops the rollback deployment, -p the pending one; no option is a usage error', async () => {
    const none = await x(['cleanup']);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/error: usage error: At least one cleanup option must be specified\n$/);
    // Booted 1.0 with a pending 10.0 in front: -r finds no rollback, -p removes the pending one.
    const r = await x(['cleanup', '-r']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Deployments unchanged.\n');
    const p = await x(['cleanup', '-p']);
    expect(p.status, p.stderr).toBe(0);
    expect(await order()).toEqual([`${c1}.0`]);
    expect(readdirSync(join(fx.sys, 'ostree/deploy/testos/deploy')).filter((n) => !n.endsWith('.origin'))).toEqual([`${c1}.0`]);
    fx.fsck();
    expect(ok(ostree(['admin', `--sysroot=${fx.sys}`, 'status']))).toContain(`testos ${c1}.0`);
  });

  it('upgrade --download-only fetches without deploying (exit 77 with --unchanged-exit-77); -r records instead of rebooting', async () => {
    // After cleanup only the booted 1.0 (following testos/stable) is left.
    const c11 = fx.commit(REF, '11.0', { 'usr/share/eleven': '11\n' });
    const d = await x(['upgrade', '--download-only', '--unchanged-exit-77']);
    expect(d.status, d.stderr).toBe(77);
    expect(d.stdout).toContain('Update downloaded.\n');
    expect(fx.adminOrder()).toEqual([`${c1}.0`]);
    expect(ok(ostree([`--repo=${fx.sys}/ostree/repo`, 'rev-parse', `testos:${REF}`])).trim()).toBe(c11);
    const st = (await json()).deployments[0]!;
    expect(st['pending-base-checksum']).toBe(c11);
    expect(st['pending-base-version']).toBe('11.0');
    fx.server.resetCounters();
    const up = await x(['upgrade', '-r']);
    expect(up.status, up.stderr).toBe(0);
    // Everything was downloaded already: no object is fetched again.
    expect(fx.server.objectRequests.filter((p) => p.endsWith('.filez'))).toEqual([]);
    expect(up.stdout).toContain(`Reboot requested; not rebooting this machine (rpm-xylem never reboots). Next boot: testos-${c11}.0\n`);
    expect(JSON.parse(readFileSync(join(fx.sys, 'run/xylem/reboot-requested'), 'utf8')).next).toBe(`testos-${c11}.0`);
    expect(fx.adminOrder()).toEqual([`${c11}.0`, `${c1}.0`]);
    const both = await x(['upgrade', '--check', '-r']);
    expect(both.status).toBe(1);
    expect(both.stderr).toBe('error: Cannot specify both --reboot and --check\n');
    fx.fsck();
  });
});
