#!/usr/bin/env node
// Crash campaign (issue 14, "proof under faults"): runs xylem's mutating commands and SIGKILLs them
// at the Nth file-system operation (XYLEM_CRASH_AT, see runtimes/posix/crash.ts: every N for short
// scenarios, a seeded sample otherwise; half of them tear the write they stop in) and at random
// times (SIGKILL from here). After each kill: the real `ostree fsck` passes, refs name existing
// commits, `ostree admin status` reads the sysroot, every boot entry names a complete deployment,
// and running the same command again succeeds and reaches the expected end state. The layering
// scenarios (rpm-xylem install, uninstall, override remove|replace, upgrade) also check that
// `rpm-xylem status` works after the kill and what `rpm -qa` lists in the final deployment.
// Seeded and reproducible: every failure prints the seed and kill point to replay it.
//
// Usage: node tools/crash-campaign.mjs [--seed N] [--scenario a,b] [--points N] [--random N]
//        [--layer-points N] [--layer-random N] [--jobs N] [--at N[:S]] [--kill-after MS]
//        [--cli FILE] [--rpm-cli FILE] [--workdir DIR] [--keep] [--list]
//   npm run crash-campaign            the full campaign (≥ 1,000 kill points)
//   --points 8 --random 1             a slice (test/crash/campaign.test.ts runs it with two
//                                     layering scenarios at --layer-points 3 --layer-random 0)

import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { buildFixture, removeTree } from './crash/fixture.mjs';
import { buildLayerFixture } from './crash/layer-fixture.mjs';
import { SCENARIOS, readCount } from './crash/scenarios.mjs';
import { bootedSupport, childEnv, exec, must, rng, startHttpd, wasKilled } from './crash/proc.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const { values: opt } = parseArgs({
  options: {
    seed: { type: 'string' },
    scenario: { type: 'string' },
    points: { type: 'string', default: '90' },
    random: { type: 'string', default: '12' },
    // The layering scenarios' own budget (their runs cost several times a commit's); default as above.
    'layer-points': { type: 'string' },
    'layer-random': { type: 'string' },
    jobs: { type: 'string', default: '2' },
    at: { type: 'string' },
    'kill-after': { type: 'string' },
    cli: { type: 'string' },
    'rpm-cli': { type: 'string' },
    keep: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    workdir: { type: 'string' },
  },
});
if (opt.list) {
  for (const s of SCENARIOS) console.log(s.name);
  process.exit(0);
}
const int = (name, v) => {
  if (!/^\d+$/.test(v)) throw new Error(`--${name} must be a non-negative integer, got '${v}'`);
  return Number(v);
};
const seed = opt.seed !== undefined ? int('seed', opt.seed) : Date.now() % 1_000_000;
const maxPoints = int('points', opt.points);
const randomKills = int('random', opt.random);
const layerPoints = opt['layer-points'] !== undefined ? int('layer-points', opt['layer-points']) : maxPoints;
const layerRandom = opt['layer-random'] !== undefined ? int('layer-random', opt['layer-random']) : randomKills;
const jobs = Math.max(1, int('jobs', opt.jobs));
const wanted = opt.scenario ? opt.scenario.split(',') : SCENARIOS.map((s) => s.name);
for (const w of wanted) if (!SCENARIOS.some((s) => s.name === w)) throw new Error(`unknown scenario '${w}' (see --list)`);
if ((opt.at || opt['kill-after']) && wanted.length !== 1) throw new Error('--at and --kill-after replay one kill point: give exactly one --scenario');
if (opt.at && !/^\d+(:\d+)?$/.test(opt.at)) throw new Error(`--at must be N or N:SEED, got '${opt.at}'`);

const noBoot = bootedSupport();
let scenarios = SCENARIOS.filter((s) => wanted.includes(s.name));
if (noBoot && scenarios.some((s) => s.booted)) {
  if (process.env.CI === 'true') throw new Error(`booted scenarios need booted emulation: ${noBoot}`);
  console.warn(`!!! booted scenarios (stage, finalize) SKIPPED: ${noBoot} !!!`);
  scenarios = scenarios.filter((s) => !s.booted);
}
// Layering runs scriptlets in a bwrap sandbox and writes files owned by other users: root only.
if (process.getuid?.() !== 0 && scenarios.some((s) => s.layer)) {
  if (process.env.CI === 'true') throw new Error('the layering scenarios need root');
  console.warn('!!! layering scenarios SKIPPED: they need root !!!');
  scenarios = scenarios.filter((s) => !s.layer);
}

/** Runs `items` through `fn` with at most `n` at a time. */
async function pool(items, n, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** The kill points of a scenario with `total` ops: all of them, or a seeded sample with both ends. */
function killPoints(total, rand, budget) {
  const ns = new Set();
  if (total <= budget) for (let i = 1; i <= total; i++) ns.add(i);
  else {
    ns.add(1);
    ns.add(total);
    while (ns.size < budget) ns.add(1 + Math.floor(rand() * total));
  }
  // Half of the points tear the write they stop in (N:SEED); the seed is derived, so replayable.
  return [...ns].sort((a, b) => a - b).map((n) => (rand() < 0.5 ? `${n}:${Math.floor(rand() * 1e9)}` : `${n}`));
}

async function main() {
  const t0 = Date.now();
  let cli = opt.cli;
  let cliDir = null;
  if (!cli) {
    mkdirSync(join(ROOT, 'tmp'), { recursive: true });
    cliDir = mkdtempSync(join(ROOT, 'tmp', 'crash-cli-'));
    must(process.execPath, [join(ROOT, 'tools/build-cli.mjs'), '--outdir', cliDir], { cwd: ROOT });
    cli = join(cliDir, 'xylem.mjs');
  }
  cli = resolve(cli);
  let rpmCli = opt['rpm-cli'];
  if (!rpmCli && scenarios.some((s) => s.layer)) {
    if (!cliDir) {
      mkdirSync(join(ROOT, 'tmp'), { recursive: true });
      cliDir = mkdtempSync(join(ROOT, 'tmp', 'crash-cli-'));
    }
    // Its own folder: each build prunes the chunks/ of its outdir.
    must(process.execPath, [join(ROOT, 'tools/build-cli.mjs'), '--entry', join(ROOT, 'tools/rpm-xylem/main.ts'), '--outdir', join(cliDir, 'rpm-xylem'), '--name', 'rpm-xylem'], { cwd: ROOT });
    rpmCli = join(cliDir, 'rpm-xylem', 'rpm-xylem.mjs');
  }
  if (rpmCli) rpmCli = resolve(rpmCli);
  if (!cli.startsWith(`${ROOT}/`)) throw new Error(`--cli must be inside the checkout (booted runs see it at /mnt): ${cli}`);
  // Process death, not power loss, is simulated: durability is not under test, so the copies live
  // on tmpfs when there is one (fsync and syncfs cost nothing there; a shared disk makes them slow).
  const base = opt.workdir ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const work = mkdtempSync(join(base, 'xylem-crash-'));
  let httpd = null;
  let layerHttpd = null;
  const failures = [];
  const rows = [];
  const onSignal = (sig) => {
    httpd?.stop();
    layerHttpd?.stop();
    rmSync(work, { recursive: true, force: true });
    if (cliDir) rmSync(cliDir, { recursive: true, force: true });
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const ctx = { root: ROOT, cli, rpmCli };
    const fx = await buildFixture(join(work, 'fx'), { seed, root: ROOT, cli, booted: scenarios.some((s) => s.booted) });
    // The HTTP remote: xylem trivial-httpd on 127.0.0.1, a port it picks.
    httpd = await startHttpd(cli, fx.remote, join(work, 'httpd-port'));
    must('ostree', [`--repo=${fx.base_bare}`, 'remote', 'add', '--no-gpg-verify', 'origin', httpd.url]);
    // The layering fixture (composed base, rpm-md repo on its own server), once per run.
    if (scenarios.some((s) => s.layer)) {
      const t = Date.now();
      mkdirSync(join(work, 'layer'));
      const built = await buildLayerFixture(join(work, 'layer'), { root: ROOT, cli, rpmCli });
      fx.layer = built.lx;
      layerHttpd = built.httpd;
      console.log(`layering fixture built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    const ls = spawnSync('ostree', [`--repo=${fx.remote}`, 'ls', '-R', '-C', fx.v2], { encoding: 'utf8' });
    fx.listings = { v2: ls.stdout };
    console.log(`crash campaign: seed ${seed}, ${jobs} job(s), scenarios ${scenarios.map((s) => s.name).join(' ')}`);

    let serial = 0;
    const freshDir = () => {
      const d = join(work, `k${serial++}`);
      mkdirSync(d);
      return d;
    };
    const countFileOf = (s, st) => (s.countFile ? s.countFile(st) : join(st.dir, 'crash-count'));

    for (const s of scenarios) {
      const sStart = Date.now();
      const rand = rng(seed ^ [...s.name].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7));
      // A clean run: the op count and duration, and the end state it must reach.
      const clean = s.prepare(fx, freshDir());
      const cf = join(clean.dir, 'crash-count');
      const [ccmd, cargs, cenv] = s.command(fx, clean, ctx, childEnv({ XYLEM_CRASH_COUNT: cf }));
      const cr = await exec(ccmd, cargs, { env: cenv });
      if (cr.status !== 0) throw new Error(`${s.name}: the clean run failed (exit ${cr.status}):\n${cr.stderr}`);
      const total = readCount(countFileOf(s, clean));
      await s.final(fx, clean, ctx);
      removeTree(clean.dir);

      const plan = [];
      if (opt.at) plan.push({ at: opt.at });
      else if (opt['kill-after']) plan.push({ after: int('kill-after', opt['kill-after']) });
      else {
        for (const at of killPoints(total, rand, s.layer ? layerPoints : maxPoints)) plan.push({ at });
        for (let i = 0; i < (s.layer ? layerRandom : randomKills); i++) plan.push({ after: Math.round(cr.ms * (0.1 + 0.9 * rand())) });
      }
      let ok = 0;
      let notReached = 0;
      await pool(plan, jobs, async (p) => {
        const st = s.prepare(fx, freshDir());
        const label = p.at !== undefined ? `--at ${p.at}` : `--kill-after ${p.after}`;
        try {
          const env = p.at !== undefined ? childEnv({ XYLEM_CRASH_AT: p.at }) : childEnv();
          const [cmd, args, e] = s.command(fx, st, ctx, env);
          const r = await exec(cmd, args, { env: e, killAfterMs: p.after ?? null });
          if (r.hung) throw new Error('the killed run hung');
          if (!wasKilled(r)) {
            if (r.status !== 0) throw new Error(`the run failed instead of dying (exit ${r.status}, signal ${r.signal}):\n${r.stderr}`);
            notReached++;
          }
          await s.afterKill(fx, st, ctx);
          const [cmd2, args2, e2] = s.command(fx, st, ctx, childEnv());
          const again = await exec(cmd2, args2, { env: e2 });
          if (again.status !== 0) throw new Error(`running it again failed (exit ${again.status}, signal ${again.signal}):\n${again.stderr}`);
          await s.final(fx, st, ctx);
          ok++;
          removeTree(st.dir);
        } catch (e) {
          failures.push({ scenario: s.name, label, error: e });
          console.log(`FAIL ${s.name} ${label}: ${e.message.split('\n').slice(0, 12).join('\n  ')}`);
          console.log(`  reproduce: npm run crash-campaign -- --seed ${seed} --scenario ${s.name} ${label}${p.after !== undefined ? ' (timing-dependent)' : ''}`);
          if (opt.keep) console.log(`  kept: ${st.dir}`);
          else removeTree(st.dir);
        }
      });
      const atN = plan.filter((p) => p.at !== undefined).length;
      const row = { scenario: s.name, ops: total, killPoints: plan.length, atOp: atN, random: plan.length - atN, ok, notReached, failed: plan.length - ok, seconds: (Date.now() - sStart) / 1000 };
      rows.push(row);
      console.log(`${s.name.padEnd(16)} ops ${String(total).padStart(5)}  kill points ${String(row.killPoints).padStart(4)} (at op ${atN}, random ${row.random})  ok ${ok}  failed ${row.failed}  ${row.seconds.toFixed(1)} s`);
    }
  } finally {
    httpd?.stop();
    layerHttpd?.stop();
    if (!(opt.keep && failures.length > 0)) rmSync(work, { recursive: true, force: true });
    if (cliDir) rmSync(cliDir, { recursive: true, force: true });
  }
  const total = rows.reduce((a, r) => a + r.killPoints, 0);
  console.log(`TOTAL kill points ${total}  failed ${failures.length}  seed ${seed}  ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`JSON ${JSON.stringify({ seed, rows, failures: failures.map((f) => ({ scenario: f.scenario, label: f.label, error: f.error.message.slice(0, 2000) })) })}`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`crash-campaign: ${e.stack ?? e}`);
    process.exit(2);
  },
);
