// Crash safety of whole admin steps against real process death: deploy, upgrade and
// finalize-staged are SIGKILLed (1) just before their Nth filesystem mutation, at points spread
// over the whole step (kill-runner.ts, deterministic), and (2) after random delays while the CLI
// runs (timeout -s KILL). After every kill: `xylem admin status` and `ostree admin status` work
// and show the old or the new boot set, every boot entry names a complete deployment (its /usr
// has exactly its commit's paths), `ostree fsck` is clean, and running the step again succeeds
// and leaves the same guarantees. finalize-staged runs on an emulated booted system (booted.ts).

import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { ROOT, TempDir, buildCli, describeInterop, disposeCli, ok, ostree, xylem, type RunResult } from '../helpers/interop.ts';
import { REF, booted, bootedSupport, commitUsrPaths, deployDir, entriesComplete, makeOsFixture, statusList, type OsFixture } from './booted.ts';

const unsupported = bootedSupport();
type Op = 'deploy' | 'upgrade' | 'finalize';

/** A small seeded generator, so a failing run can be repeated (the seed is in the messages). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describeInterop('sysroot steps killed at any point (SIGKILL)', () => {
  if (unsupported) {
    if (process.env.CI === 'true') it('needs booted emulation', () => expect.fail(`unavailable: ${unsupported}`));
    else it.skip(`booted emulation unavailable: ${unsupported}`, () => undefined);
    return;
  }
  vi.setConfig({ testTimeout: 300_000, hookTimeout: 180_000 });
  let tmp: TempDir;
  let fx: OsFixture;
  let cli: string;
  let runner: string;
  let runnerDir: string;
  let stagedBase: string;
  let stagedRun: string;
  const seed = Number(process.env.XYLEM_CRASH_SEED ?? Date.now() % 100000);
  const rand = rng(seed);
  const usr = new Map<string, string[]>();
  const expectUsr = (c: string) => usr.get(c) ?? commitUsrPaths(fx.repo, c);

  beforeAll(() => {
    tmp = new TempDir('xylem-crashkill-');
    cli = buildCli();
    runnerDir = mkdtempSync(join(ROOT, 'tmp', 'kill-runner-'));
    const b = spawnSync(process.execPath, [join(ROOT, 'tools/build-cli.mjs'), '--entry', join(ROOT, 'test/sysroot/kill-runner.ts'), '--outdir', runnerDir, '--name', 'kill-runner'], { encoding: 'utf8', cwd: ROOT });
    if (b.status !== 0) throw new Error(`bundling kill-runner failed:\n${b.stdout}${b.stderr}`);
    runner = join(runnerDir, 'kill-runner.mjs');
    fx = makeOsFixture(tmp.path, 15);
    for (const c of [fx.v1, fx.v2]) usr.set(c, commitUsrPaths(fx.repo, c));
    // A sysroot booted into v1 with v2 staged (by xylem), for finalize-staged.
    stagedBase = tmp.join('staged-base');
    stagedRun = tmp.join('staged-base-run');
    cpSync(fx.base, stagedBase, { recursive: true, verbatimSymlinks: true });
    ok(booted(stagedBase, deployDir(stagedBase, fx.v1), stagedRun, ['xylem', 'admin', 'deploy', '--stage', REF], cli), 'stage');
  });
  afterAll(() => {
    tmp?.cleanup();
    if (runnerDir) rmSync(runnerDir, { recursive: true, force: true });
    disposeCli();
  });

  let serial = 0;
  function fresh(op: Op): { sys: string; runDir: string; dep: string } {
    const sys = tmp.join(`a${serial++}`);
    const runDir = `${sys}-run`;
    cpSync(op === 'finalize' ? stagedBase : fx.base, sys, { recursive: true, verbatimSymlinks: true });
    if (op === 'finalize') cpSync(stagedRun, runDir, { recursive: true });
    return { sys, runDir, dep: deployDir(sys, fx.v1) };
  }

  /** The step through kill-runner, killed before mutation `killAt` (0: never). */
  function runStep(op: Op, s: { sys: string; runDir: string; dep: string }, killAt: number): RunResult {
    if (op === 'finalize')
      return booted(s.sys, s.dep, s.runDir, ['/usr/bin/node', join('/mnt', relative(ROOT, runner)), 'finalize', '/', String(killAt)]);
    const r = spawnSync(process.execPath, [runner, op, s.sys, String(killAt), fx.v2], { encoding: 'utf8', env: { ...process.env, OSTREE_SYSROOT_DEBUG: 'mutable-deployments' } });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** The step through the CLI, under `timeout -s KILL` when `killAfter` (seconds) is given. */
  function cliStep(op: Op, s: { sys: string; runDir: string; dep: string }, killAfter: number | null): RunResult {
    const argv = op === 'deploy' ? ['admin', 'deploy', '--os=testos', fx.v2] : op === 'upgrade' ? ['admin', 'upgrade', '--os=testos'] : ['admin', 'finalize-staged'];
    const pre = killAfter === null ? [] : ['/usr/bin/timeout', '-s', 'KILL', killAfter.toFixed(3)];
    if (op === 'finalize') return booted(s.sys, s.dep, s.runDir, [...pre, '/usr/bin/node', join('/mnt', relative(ROOT, cli)), ...argv]);
    const full = [...pre, process.execPath, cli, argv[0]!, `--sysroot=${s.sys}`, ...argv.slice(1)];
    const r = spawnSync(full[0]!, full.slice(1), { encoding: 'utf8', env: { ...process.env, OSTREE_SYSROOT_DEBUG: 'mutable-deployments' } });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** The guarantees after a kill (or a finished run); returns the deployments booted by entry. */
  function consistent(op: Op, s: { sys: string; runDir: string; dep: string }, what: string, full = true): string[] {
    const list = statusList(s.sys);
    const named = entriesComplete(s.sys, expectUsr);
    expect(named, `${what}: boot entries vs ostree admin status`).toEqual(list);
    if (!full) return list;
    const xs = op === 'finalize' ? booted(s.sys, s.dep, s.runDir, ['xylem', 'admin', 'status'], cli) : xylem(['admin', `--sysroot=${s.sys}`, 'status']);
    expect(xs.status, `${what}: xylem admin status: ${xs.stderr}`).toBe(0);
    if (op === 'finalize') ok(booted(s.sys, s.dep, s.runDir, ['ostree', 'admin', 'status']), `${what}: ostree admin status (booted)`);
    ok(ostree([`--repo=${s.sys}/ostree/repo`, 'fsck']), `${what}: ostree fsck`);
    return list;
  }

  function killAndCheck(op: Op, how: string, kill: (s: { sys: string; runDir: string; dep: string }) => RunResult): void {
    const s = fresh(op);
    const what = `${op} ${how} (seed ${seed})`;
    const r = kill(s);
    expect([0, 137, -1, null], `${what}: ${r.stderr}`).toContain(r.status);
    const after = consistent(op, s, `${what}, after the kill`);
    expect(after.map((x) => x.split('.')[0]), what).toContain(fx.v1);
    expect(after.length === 1 || after[0]!.startsWith(fx.v2), `${what}: old or new boot set, got ${after.join(' ')}`).toBe(true);
    // Running the step again succeeds; a finalize whose state was already consumed has nothing to do.
    ok(cliStep(op, s, null), `${what}: the step again`);
    const final = consistent(op, s, `${what}, after running it again`, false);
    if (op !== 'finalize') expect(final[0]!.startsWith(fx.v2), `${what}: v2 is the default after the re-run`).toBe(true);
    rmSync(s.sys, { recursive: true, force: true });
    rmSync(s.runDir, { recursive: true, force: true });
  }

  for (const op of ['deploy', 'upgrade', 'finalize'] as const) {
    it(`${op}: killed before mutation N, at points spread over the step, and after random delays`, () => {
      // A clean run: how many mutations, how long the CLI takes.
      const clean = fresh(op);
      const t0 = Date.now();
      const r = runStep(op, clean, 0);
      expect(r.status, r.stderr).toBe(0);
      const total = Number(/mutations (\d+)/.exec(r.stdout)![1]);
      expect(total).toBeGreaterThan(20);
      const newSet = consistent(op, clean, `${op} clean`, false);
      expect(newSet[0]!.startsWith(fx.v2)).toBe(true);
      const cliMs = Date.now() - t0;

      // XYLEM_CRASH_POINTS=N kills at more points (the default keeps the file near a minute).
      const points = Number(process.env.XYLEM_CRASH_POINTS ?? 2);
      const randomKills = Number(process.env.XYLEM_CRASH_RANDOM ?? 1);
      for (let i = 0; i < points; i++) {
        // Spread over 1..total, jittered, always including the very end (the swap).
        const k = i === points - 1 ? total : Math.max(1, Math.floor(((i + rand()) * total) / points));
        killAndCheck(op, `killed before mutation ${k} of ${total}`, (s) => runStep(op, s, k));
      }
      for (let i = 0; i < randomKills; i++) {
        const delay = (cliMs * (0.3 + 0.7 * rand())) / 1000;
        killAndCheck(op, `killed after ${delay.toFixed(3)} s of ~${(cliMs / 1000).toFixed(2)} s`, (s) => cliStep(op, s, delay));
      }
    });
  }
});
