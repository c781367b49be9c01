// One transaction at a time, across processes: while an upgrade (slowed by the test hooks) runs,
// `status` from another process says busy and what it is doing, a second upgrade is refused with
// rpm-ostree's message, the real `ostree admin` waits for the sysroot lock, and `cancel` stops it
// — during the pull or after the checkout — leaving nothing half-written (ostree admin status and
// ostree fsck as oracles). A transaction killed outright leaves a stale record that the next one
// recovers from.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { describeInterop, ok, ostree } from '../helpers/interop.ts';
import { ENV, Fixture, REF, buildRpmXylem, cli, disposeRpmXylem, startCli, type Result } from './helpers.ts';

describeInterop('rpm-xylem: busy, cancel and stale transactions across processes', () => {
  vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });
  const fx = new Fixture();
  let bin: string;
  let c1: string;
  const base = { XYLEM_BOOTED: '', XYLEM_PROC_CMDLINE: '' };
  const x = (args: string[], env: Record<string, string> = {}): Promise<Result> => cli(bin, [...args, `--sysroot=${fx.sys}`], { ...base, ...env });
  const deployDirs = () => readdirSync(join(fx.sys, 'ostree/deploy/testos/deploy')).filter((n) => !n.endsWith('.origin')).sort();
  const stateFile = () => join(fx.sys, 'run/xylem/transaction.json');

  /** Polls `status` until its text matches `re` (the machine may be slow: generous deadline). */
  async function waitForStatus(re: RegExp, ms = 90_000): Promise<string> {
    const end = Date.now() + ms;
    let last = '';
    while (Date.now() < end) {
      last = (await x(['status'])).stdout;
      if (re.test(last)) return last;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`status never matched ${re}; last:\n${last}`);
  }

  /** Runs the real ostree under `timeout`; resolves with its exit status. */
  function ostreeWithTimeout(seconds: number, args: string[]): Promise<number> {
    const child = spawn('timeout', [String(seconds), 'ostree', ...args], { env: { ...process.env, ...ENV }, stdio: 'ignore' });
    return new Promise((r) => child.on('close', (c) => r(c ?? -1)));
  }

  beforeAll(async () => {
    bin = buildRpmXylem();
    c1 = await fx.setup();
  });
  afterAll(async () => {
    disposeRpmXylem(bin);
    await fx.dispose();
  });

  it('a running upgrade shows as busy, refuses a second one, holds ostree/lock, and cancel stops it cleanly', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 6; i++) files[`usr/share/data/f${i}`] = `file ${i}\n`;
    const c2 = fx.commit(REF, '2.0', files);
    // Metadata arrives at once, every content object hangs: cancelled mid-pull with objects staged.
    const up = startCli(bin, ['upgrade', `--sysroot=${fx.sys}`], { ...base, XYLEM_TEST_FETCH_DELAY_MS: '600000', XYLEM_TEST_FETCH_DELAY_MATCH: '\\.filez$' });
    const title = `rpm-xylem upgrade --sysroot=${fx.sys}`;
    const staging = () => readdirSync(join(fx.sys, 'ostree/repo/tmp')).filter((n) => n.startsWith('staging-'));
    const busy = await waitForStatus(/Progress: pulling; (Receiving|Scanning|Writing)/);
    // Wait until the fetched metadata sits in the pull's staging folder.
    for (let end = Date.now() + 60_000; staging().length === 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 100));
    expect(staging()).toHaveLength(1);
    expect(busy.split('\n').slice(0, 4)).toEqual(['State: busy', `Transaction: ${title}`, `  Initiator: rpm-xylem (pid ${up.child.pid})`, busy.split('\n')[3]]);
    expect(busy.split('\n')[3]).toMatch(/^ {2}Progress: pulling; /);
    expect(busy).toContain('\nDeployments:\n');
    const json = JSON.parse((await x(['status', '--json'])).stdout);
    expect(json.transaction).toEqual([title, `rpm-xylem (pid ${up.child.pid})`, expect.any(String)]);

    const second = await x(['upgrade']);
    expect(second.status).toBe(1);
    expect(second.stderr).toBe(`error: Transaction in progress: ${title}\n You can cancel the current transaction with \`rpm-xylem cancel\`\n`);
    // libostree's sysroot lock is held: the real ostree waits (and is stopped by timeout → 124).
    expect(await ostreeWithTimeout(3, ['admin', `--sysroot=${fx.sys}`, 'cleanup'])).toBe(124);

    const cancel = await x(['cancel']);
    expect(cancel.status).toBe(0);
    expect(cancel.stdout).toBe(`Cancelling transaction: ${title}\nCancelled.\n`);
    const r = await up.done;
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: Transaction was cancelled\n');

    // Nothing half-written: same deployments, no new folder, ref not moved, locks released.
    expect(fx.adminOrder()).toEqual([`${c1}.0`]);
    expect(deployDirs()).toEqual([`${c1}.0`]);
    expect(ok(ostree([`--repo=${fx.sys}/ostree/repo`, 'rev-parse', `testos:${REF}`])).trim()).toBe(c1);
    expect(existsSync(stateFile())).toBe(false);
    expect(existsSync(join(fx.sys, 'ostree/lock'))).toBe(false);
    expect(staging()).toEqual([]);
    expect(JSON.parse(readFileSync(join(fx.sys, 'run/xylem/last-transaction.json'), 'utf8'))).toMatchObject({ title, outcome: 'cancelled' });
    expect((await x(['status'])).stdout).toMatch(/^State: idle\nDeployments:\n/);
    expect((await x(['cancel'])).stdout).toBe('No active transaction.\n');
    fx.fsck();

    // The next run starts clean and completes.
    const again = await x(['upgrade']);
    expect(again.status, again.stderr).toBe(0);
    expect(fx.adminOrder()).toEqual([`${c2}.0`, `${c1}.0`]);
    fx.fsck();
  });

  it('cancel after the checkout removes the unpublished deployment; a killed transaction is recovered by the next one', async () => {
    const before = fx.adminOrder();
    const c3 = fx.commit(REF, '3.0', { 'usr/share/three': '3\n' });
    const pause = { ...base, XYLEM_TEST_PAUSE_AT: 'finalizing:120000' };
    let up = startCli(bin, ['upgrade', `--sysroot=${fx.sys}`], pause);
    await waitForStatus(/Progress: finalizing/);
    // The checkout exists but is not published.
    expect(deployDirs()).toContain(`${c3}.0`);
    expect(fx.adminOrder()).toEqual(before);
    expect((await x(['cancel'])).stdout).toMatch(/Cancelled\.\n$/);
    expect((await up.done).status).toBe(1);
    expect(deployDirs()).not.toContain(`${c3}.0`);
    expect(fx.adminOrder()).toEqual(before);
    fx.fsck();

    // Killed outright at the same point: the record stays behind, but its owner is gone.
    up = startCli(bin, ['upgrade', `--sysroot=${fx.sys}`], pause);
    await waitForStatus(/Progress: finalizing/);
    up.child.kill('SIGKILL');
    await up.done;
    expect(existsSync(stateFile())).toBe(true);
    expect(deployDirs()).toContain(`${c3}.0`);
    expect((await x(['status'])).stdout).toMatch(/^State: idle\n/);
    expect((await x(['cancel'])).stdout).toBe('No active transaction.\n');
    const rec = await x(['upgrade']);
    expect(rec.status, rec.stderr).toBe(0);
    expect(rec.stderr).toContain(`Recovering after interrupted transaction: rpm-xylem upgrade --sysroot=${fx.sys}`);
    expect(fx.adminOrder()).toEqual([`${c3}.0`, before[0]]);
    expect(deployDirs()).toEqual([`${c3}.0`, before[0]].sort());
    expect(existsSync(stateFile())).toBe(false);
    fx.fsck();
  });
});
