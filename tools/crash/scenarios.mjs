// The crash campaign's scenarios: each copies a base from the fixture into a fresh folder, names the
// xylem command to run (and kill), the guarantees that must hold after any kill, and what must be
// true once the same command has been run again to completion. Commit (archive and bare), pull
// over HTTP (objects, and static deltas), pull-local, static-delta apply-offline, admin deploy,
// admin upgrade, staged deploy and finalize-staged (booted emulation), prune; and the package
// layering ones of layer-scenarios.mjs.

import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { entriesComplete, fsckOk, refsOk, sysrootOk } from './checks.mjs';
import { bootedArgv, cliInside, exec } from './proc.mjs';
import { REF } from './fixture.mjs';
import { LAYER_SCENARIOS } from './layer-scenarios.mjs';

function copy(from, to) {
  cpSync(from, to, { recursive: true, verbatimSymlinks: true });
}

/** The root dirtree/dirmeta of a ref as ostree lists it (the tree's identity, whatever the commit). */
async function treeListing(repo, rev) {
  const r = await exec('ostree', [`--repo=${repo}`, 'ls', '-R', '-C', rev]);
  if (r.status !== 0) throw new Error(`ostree ls ${rev}: ${r.stderr}`);
  return r.stdout;
}

function expectEq(what, got, want) {
  if (got !== want) throw new Error(`${what}: got ${got}, want ${want}`);
}

/** A repo scenario: `args(repo, fx, ctx)` is the xylem command line. */
function repoScenario(name, base, args, { check = async () => undefined, final }) {
  return {
    name,
    booted: false,
    prepare(fx, dir) {
      const repo = join(dir, 'repo');
      copy(base(fx), repo);
      return { dir, repo };
    },
    command(fx, st, ctx, env) {
      return [process.execPath, [ctx.cli, ...args(st.repo, fx, ctx)], env];
    },
    async afterKill(fx, st) {
      await fsckOk(st.repo);
      refsOk(st.repo);
      await check(fx, st);
    },
    async final(fx, st) {
      await fsckOk(st.repo);
      const refs = refsOk(st.repo);
      await final(fx, st, refs);
    },
  };
}

/** A sysroot scenario, unbooted (xylem admin --sysroot=…). */
function sysrootScenario(name, args, final) {
  return {
    name,
    booted: false,
    prepare(fx, dir) {
      const sysroot = join(dir, 'sysroot');
      copy(fx.sysroot, sysroot);
      return { dir, sysroot };
    },
    command(fx, st, ctx, env) {
      return [process.execPath, [ctx.cli, 'admin', `--sysroot=${st.sysroot}`, ...args], env];
    },
    async afterKill(fx, st) {
      const list = await sysrootOk(st.sysroot);
      if (!list.some((d) => d.startsWith(fx.v1))) throw new Error(`the old deployment is gone: ${list.join(' ')}`);
      if (!(list.length === 1 || list[0].startsWith(fx.v2))) throw new Error(`neither the old nor the new boot set: ${list.join(' ')}`);
    },
    async final(fx, st) {
      const list = await sysrootOk(st.sysroot);
      await final(fx, st, list);
    },
  };
}

/** A scenario run booted into v1 (the sysroot at /sysroot, `runDir` as /run). */
function bootedScenario(name, base, args, { afterKill, final }) {
  return {
    name,
    booted: true,
    prepare(fx, dir) {
      const sysroot = join(dir, 'sysroot');
      const runDir = join(dir, 'run');
      copy(base(fx).sysroot, sysroot);
      if (base(fx).run) copy(base(fx).run, runDir);
      return { dir, sysroot, runDir, dep: fx.dep1(sysroot) };
    },
    command(fx, st, ctx, env) {
      const inner = { ...env };
      // Paths seen from inside: /run is runDir.
      if (inner.XYLEM_CRASH_COUNT) inner.XYLEM_CRASH_COUNT = '/run/crash-count';
      const [cmd, a] = bootedArgv(ctx.root, st.sysroot, st.dep, st.runDir, [...cliInside(ctx.root, ctx.cli), ...args], inner);
      return [cmd, a, undefined];
    },
    countFile: (st) => join(st.runDir, 'crash-count'),
    async afterKill(fx, st, ctx) {
      const list = await sysrootOk(st.sysroot);
      // ostree admin status inside the booted system too (it reads /run/ostree for staging).
      const [cmd, a] = bootedArgv(ctx.root, st.sysroot, st.dep, st.runDir, ['ostree', 'admin', 'status'], {});
      const r = await exec(cmd, a);
      if (r.status !== 0) throw new Error(`ostree admin status (booted) failed:\n${r.stderr}`);
      await afterKill(fx, st, list);
    },
    async final(fx, st) {
      const list = await sysrootOk(st.sysroot);
      await final(fx, st, list);
    },
  };
}

const TIMESTAMP = '--timestamp=2024-03-01T00:00:00Z';

export const SCENARIOS = [
  repoScenario('commit-archive', (fx) => fx.base_archive, (repo, fx) => ['commit', `--repo=${repo}`, '-b', REF, '-s', 'v2 by xylem', TIMESTAMP, `--tree=dir=${fx.tree2}`], {
    final: async (fx, st, refs) => expectEq('tree of the committed ref', await treeListing(st.repo, REF), fx.listings.v2),
  }),
  repoScenario('commit-bare', (fx) => fx.base_bare, (repo, fx) => ['commit', `--repo=${repo}`, '-b', REF, '-s', 'v2 by xylem', TIMESTAMP, `--tree=dir=${fx.tree2}`], {
    final: async (fx, st) => expectEq('tree of the committed ref', await treeListing(st.repo, REF), fx.listings.v2),
  }),
  repoScenario('pull-http', (fx) => fx.base_bare, (repo) => ['pull', `--repo=${repo}`, '--disable-static-deltas', 'origin', REF], {
    final: async (fx, st, refs) => expectEq('origin ref after the pull', refs.get(`remotes/origin/${REF}`), fx.v2),
  }),
  repoScenario('pull-http-delta', (fx) => fx.base_bare, (repo) => ['pull', `--repo=${repo}`, '--require-static-deltas', 'origin', REF], {
    final: async (fx, st, refs) => expectEq('origin ref after the delta pull', refs.get(`remotes/origin/${REF}`), fx.v2),
  }),
  repoScenario('pull-local', (fx) => fx.base_bare, (repo, fx) => ['pull-local', `--repo=${repo}`, fx.remote, REF], {
    final: async (fx, st, refs) => expectEq('ref after pull-local', refs.get(REF), fx.v2),
  }),
  repoScenario('delta-apply', (fx) => fx.base_bare, (repo, fx) => ['static-delta', 'apply-offline', `--repo=${repo}`, fx.deltaFile], {
    final: async (fx, st) => {
      if (!existsSync(join(st.repo, 'objects', fx.v2.slice(0, 2), `${fx.v2.slice(2)}.commit`))) throw new Error('v2 is not in the repo after apply-offline');
      expectEq('tree of v2 after the delta', await treeListing(st.repo, fx.v2), fx.listings.v2);
    },
  }),
  repoScenario('prune', (fx) => fx.basePrune, (repo) => ['prune', `--repo=${repo}`, '--refs-only', '--depth=0'], {
    final: async (fx, st, refs) => {
      expectEq('ref after prune', refs.get(REF), fx.v2);
      if (existsSync(join(st.repo, 'objects', fx.v1.slice(0, 2), `${fx.v1.slice(2)}.commit`))) throw new Error('prune kept v1');
    },
  }),
  sysrootScenario('deploy', ['deploy', '--os=testos', REF], async (fx, st, list) => {
    if (!list[0].startsWith(fx.v2)) throw new Error(`v2 is not the default after deploy: ${list.join(' ')}`);
  }),
  sysrootScenario('upgrade', ['upgrade', '--os=testos'], async (fx, st, list) => {
    if (!list[0].startsWith(fx.v2)) throw new Error(`v2 is not the default after upgrade: ${list.join(' ')}`);
  }),
  bootedScenario('stage', (fx) => ({ sysroot: fx.sysroot }), ['admin', 'deploy', '--stage', REF], {
    afterKill: async (fx, st, list) => {
      if (list.join(' ') !== `${fx.v1}.0`) throw new Error(`staging changed the boot set: ${list.join(' ')}`);
    },
    final: async (fx, st, list) => {
      if (list.join(' ') !== `${fx.v1}.0`) throw new Error(`staging changed the boot set: ${list.join(' ')}`);
      if (!existsSync(join(st.runDir, 'ostree/staged-deployment'))) throw new Error('nothing is staged after deploy --stage');
    },
  }),
  bootedScenario('finalize', (fx) => ({ sysroot: fx.staged, run: fx.stagedRun }), ['admin', 'finalize-staged'], {
    afterKill: async (fx, st, list) => {
      if (!list.some((d) => d.startsWith(fx.v1))) throw new Error(`the booted deployment is gone: ${list.join(' ')}`);
      if (!(list.length === 1 || list[0].startsWith(fx.v2))) throw new Error(`neither the old nor the new boot set: ${list.join(' ')}`);
    },
    final: async (fx, st, list) => {
      // A kill after the staged state was consumed may leave nothing to finalize: then v1 alone.
      if (!(list[0].startsWith(fx.v2) || list.join(' ') === `${fx.v1}.0`)) throw new Error(`unexpected boot set after finalize: ${list.join(' ')}`);
    },
  }),
  ...LAYER_SCENARIOS,
];

/** Reads a count file written by XYLEM_CRASH_COUNT. */
export function readCount(path) {
  const t = readFileSync(path, 'utf8').trim();
  if (!/^\d+$/.test(t)) throw new Error(`bad op count in ${path}: ${t}`);
  return Number(t);
}

export { entriesComplete };
