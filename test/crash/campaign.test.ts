// The CI slice of the crash campaign (tools/crash-campaign.mjs; the whole campaign is
// `npm run crash-campaign`): every scenario — commit into archive and bare repos, pull over HTTP
// (objects and static deltas), pull-local, static-delta apply-offline, admin deploy, admin
// upgrade, staged deploy and finalize-staged on an emulated booted system, prune — killed at
// 8 seeded op numbers (half of them tearing the write they stop in) and once at a random time:
// ~100 kill points, each followed by the real `ostree fsck`, `ostree admin status`, the boot
// entry check and a successful re-run. Two package-layering scenarios ride along at 3 points each
// (rpm-xylem install, and upgrade of a layered deployment: a composed base, rpm-md repos on
// 127.0.0.1; also checked: `rpm-xylem status` after the kill, `rpm -qa` of the final deployment);
// the full campaign runs all five at ~100. XYLEM_CRASH_SEED=N repeats a run (the seed is printed).

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { ROOT, describeInterop } from '../helpers/interop.ts';

const OSTREE_SCENARIOS = ['commit-archive', 'commit-bare', 'pull-http', 'pull-http-delta', 'pull-local', 'delta-apply', 'prune', 'deploy', 'upgrade'];
const BOOTED_SCENARIOS = ['stage', 'finalize'];
const LAYER_SCENARIOS = ['layer-install', 'layer-upgrade'];

describeInterop('crash campaign (CI slice)', () => {
  // 2 min on the quiet 2-core host (the layering part ~20 s); 18 min were measured under a load average of ~20.
  vi.setConfig({ testTimeout: 1_800_000 });
  it('~100 kill points across the scenarios leave fsck-clean repos, complete boot entries and re-runnable commands', () => {
    const seed = process.env.XYLEM_CRASH_SEED ?? String(Date.now() % 1_000_000);
    const scenarios = [...OSTREE_SCENARIOS, ...BOOTED_SCENARIOS, ...LAYER_SCENARIOS].join(',');
    const args = ['--seed', seed, '--scenario', scenarios, '--points', '8', '--random', '1', '--layer-points', '3', '--layer-random', '0', '--jobs', '2'];
    const r = spawnSync(process.execPath, [join(ROOT, 'tools/crash-campaign.mjs'), ...args], {
      encoding: 'utf8',
      cwd: ROOT,
      maxBuffer: 64 << 20,
    });
    const out = r.stdout ?? '';
    process.stdout.write(out.split('\n').filter((l) => !l.startsWith('JSON ')).join('\n'));
    const json = /^JSON (.*)$/m.exec(out);
    expect(json, `no summary from the campaign (exit ${r.status}):\n${r.stderr}`).not.toBeNull();
    const summary = JSON.parse(json![1]!) as { seed: number; rows: Array<{ scenario: string; ops: number; killPoints: number; failed: number }>; failures: unknown[] };
    expect(summary.failures, `seed ${seed}`).toEqual([]);
    expect(r.status, r.stderr).toBe(0);
    const names = summary.rows.map((x) => x.scenario);
    for (const s of OSTREE_SCENARIOS) expect(names).toContain(s);
    if (process.getuid?.() === 0) for (const s of [...BOOTED_SCENARIOS, ...LAYER_SCENARIOS]) expect(names).toContain(s);
    for (const row of summary.rows) {
      expect(row.ops, row.scenario).toBeGreaterThan(10);
      expect(row.killPoints, row.scenario).toBe(LAYER_SCENARIOS.includes(row.scenario) ? 3 : 9);
    }
    expect(summary.rows.reduce((a, x) => a + x.killPoints, 0)).toBeGreaterThanOrEqual(81);
  });
});
