// Scale: Debian's real dependency graph (apt's bookworm lists, 60,000+ packages) converted to rpm
// packages (tools/solve/debian-to-rpmmd.ts), loaded into the pool, and seeded random install
// requests solved — each solution checked by an INDEPENDENT checker written here (it shares only
// rpmvercmp with the solver): every Requires of every installed package has an installed provider,
// no installed package conflicts with another, no name is installed twice. Load and solve times
// and memory are printed for the report.

import { basename } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatNevra } from '../../src/rpm/types.ts';
import type { Dependency } from '../../src/rpm/types.ts';
import { createPool, solve } from '../../src/solve/index.ts';
import type { Pool } from '../../src/solve/index.ts';
import { rpmvercmp } from '../../src/solve/version.ts';
import { aptPackageLists, convertLz4, realPackageNames } from '../../tools/solve/debian-to-rpmmd.ts';
import type { ConvertOptions } from '../../tools/solve/debian-to-rpmmd.ts';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import type { ConvertedPackage } from '../../tools/solve/debian-to-rpmmd.ts';
import { hasCommand } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { seededUniform } from '../helpers/pseudo-random.ts';

// ---- the independent checker ------------------------------------------------------------------
function splitEvr(s: string): [string, string, string | null] {
  const m = /^(?:(\d+):)?(.*?)(?:-([^-]*))?$/.exec(s)!;
  return [m[1] ?? '0', m[2]!, m[3] ?? null];
}
/** Does a package/provide at `have` (exact, EQUAL) fall in the range `flags want`? */
function inRange(have: string, want: string, flags: number): boolean {
  if (!want || (flags & 14) === 0) return true;
  const [he, hv, hr] = splitEvr(have);
  const [we, wv, wr] = splitEvr(want);
  let c = rpmvercmp(he, we) || rpmvercmp(hv, wv);
  if (c === 0 && hr !== null && wr !== null) c = rpmvercmp(hr, wr);
  return c < 0 ? (flags & 2) !== 0 : c > 0 ? (flags & 4) !== 0 : (flags & 8) !== 0;
}
function check(installed: ConvertedPackage[]): string[] {
  const errors: string[] = [];
  const key = (p: ConvertedPackage): string => formatNevra(p.nevra);
  const evrOf = (p: ConvertedPackage): string => `${p.nevra.epoch ?? 0}:${p.nevra.version}-${p.nevra.release}`;
  const names = new Map<string, string>();
  for (const p of installed) {
    if (names.has(p.nevra.name)) errors.push(`two versions of ${p.nevra.name}: ${names.get(p.nevra.name)} and ${key(p)}`);
    names.set(p.nevra.name, key(p));
  }
  // providers among the installed set
  const provides = new Map<string, { p: ConvertedPackage; flags: number; evr: string }[]>();
  const addProv = (n: string, v: { p: ConvertedPackage; flags: number; evr: string }): void => {
    const l = provides.get(n);
    if (l) l.push(v);
    else provides.set(n, [v]);
  };
  for (const p of installed) {
    addProv(p.nevra.name, { p, flags: 8, evr: evrOf(p) });
    for (const d of p.deps.provides) addProv(d.name, { p, flags: d.flags, evr: d.version });
  }
  const providersOf = (name: string, flags: number, evr: string): ConvertedPackage[] =>
    (provides.get(name) ?? []).filter((x) => (x.flags & 14) === 0 || !x.evr || (x.flags === 8 ? inRange(x.evr, evr, flags) : true)).map((x) => x.p);
  const alternatives = (d: Dependency): { name: string; flags: number; evr: string }[] => {
    if (!d.name.startsWith('(')) return [{ name: d.name, flags: d.flags, evr: d.version }];
    const ops: Record<string, number> = { '<': 2, '<=': 10, '=': 8, '>=': 12, '>': 4 };
    return d.name
      .slice(1, -1)
      .split(' or ')
      .map((alt) => {
        const [name, op, evr] = alt.trim().split(/\s+/);
        return { name: name!, flags: op ? ops[op]! : 0, evr: evr ?? '' };
      });
  };
  for (const p of installed) {
    for (const r of p.deps.requires) {
      if (!alternatives(r).some((a) => providersOf(a.name, a.flags, a.evr).length > 0)) errors.push(`${key(p)} requires ${r.name} ${r.version}: nothing installed provides it`);
    }
    for (const c of p.deps.conflicts) {
      for (const q of providersOf(c.name, c.flags, c.version)) if (q !== p) errors.push(`${key(p)} conflicts with ${c.name} ${c.version}, provided by installed ${key(q)}`);
    }
  }
  return errors;
}

// ---- the test ---------------------------------------------------------------------------------
const LISTS = aptPackageLists();

const seeded = seededUniform;

describe.skipIf(missing('Debian-graph scale test', { lz4: hasCommand('lz4'), 'apt lists': LISTS.length > 0 }))('scale: Debian dependency graph', () => {
  let pool: Pool;
  let opts: ConvertOptions = {};
  beforeAll(async () => {
    opts = { realNames: await realPackageNames(LISTS) };
    pool = createPool();
    for (const path of LISTS) {
      const repo = pool.addRepo(basename(path).replace(/_Packages\.lz4$/, ''));
      for await (const p of convertLz4(path, opts)) pool.addPackage(p.nevra, p.deps, { repo });
    }
  }, 600_000);

  it('holds 60,000+ packages in well under 150 MiB (measured after a full GC, in a fresh process)', () => {
    expect(pool.size).toBeGreaterThanOrEqual(60_000);
    const root = join(dirname(new URL(import.meta.url).pathname), '../..');
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(root, 'tools/solve/bench-debian.ts'), '3'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
    const figures = JSON.parse(out.trim().split('\n').pop()!) as { packages: number; poolMiB: number; gcExact: boolean };
    console.log('[solve scale] bench', JSON.stringify(figures));
    expect(figures.gcExact).toBe(true);
    expect(figures.packages).toBe(pool.size);
    expect(figures.poolMiB).toBeLessThan(150);
  }, 600_000);

  const names = (): string[] => {
    const out: string[] = [];
    const seen = new Set<string>();
    for (let p = 0; p < pool.size; p++) {
      const n = pool.nevra(p).name;
      if (!seen.has(n)) seen.add(n), out.push(n);
    }
    return out;
  };

  /** The converted stanzas of the given package sets, read back from apt's lists in one pass. */
  async function installedPackages(results: number[][]): Promise<ConvertedPackage[][]> {
    const want = new Map<string, number[]>();
    results.forEach((res, i) => {
      for (const p of res) {
        const k = formatNevra(pool.nevra(p));
        const l = want.get(k);
        if (l) l.push(i);
        else want.set(k, [i]);
      }
    });
    const out: ConvertedPackage[][] = results.map(() => []);
    for (const path of LISTS)
      for await (const p of convertLz4(path, opts)) {
        const k = formatNevra(p.nevra);
        const who = want.get(k);
        if (!who) continue;
        for (const i of who) out[i]!.push(p);
        want.delete(k);
      }
    expect([...want.keys()]).toEqual([]);
    return out;
  }

  it('solves 20+ seeded random install requests; the independent checker accepts every solution', async () => {
    const all = names();
    const rnd = seeded(1207);
    let unsolvable = 0;
    const times: number[] = [];
    const solved: { req: string[]; result: number[]; installs: number }[] = [];
    for (let attempt = 0; attempt < 40 && solved.length < 24; attempt++) {
      const req = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => all[Math.floor(rnd() * all.length)]!);
      const t = performance.now();
      const r = solve(pool, req.map((n) => ({ op: 'install' as const, what: { name: n } })));
      times.push(performance.now() - t);
      if (!r.ok) {
        expect(r.text).toMatch(/^ Problem/);
        unsolvable++;
        continue;
      }
      solved.push({ req, result: r.result, installs: r.install.length });
    }
    const inst = await installedPackages(solved.map((s) => s.result));
    solved.forEach(({ req, installs }, i) => {
      expect(inst[i]!.length).toBe(installs);
      expect(check(inst[i]!), req.join(' ')).toEqual([]);
      for (const n of req) expect(inst[i]!.some((p) => p.nevra.name === n), n).toBe(true);
    });
    times.sort((a, b) => a - b);
    console.log(`[solve scale] random requests: ${solved.length} solved+checked, ${unsolvable} unsolvable; solve ms median ${times[times.length >> 1]!.toFixed(1)}, max ${times[times.length - 1]!.toFixed(1)}`);
    expect(solved.length).toBeGreaterThanOrEqual(20);
  }, 600_000);

  it('solves a ~200-package request at once; the checker accepts it', async () => {
    const all = names();
    const rnd = seeded(4242);
    let req = Array.from(new Set(Array.from({ length: 200 }, () => all[Math.floor(rnd() * all.length)]!)));
    // drop requests dnf would refuse too (the problem names them), until the rest is solvable
    let r = solve(pool, req.map((n) => ({ op: 'install' as const, what: { name: n } })));
    for (let round = 0; !r.ok && round < 20; round++) {
      const text = r.text;
      const before = req.length;
      req = req.filter((n) => !new RegExp(`(^|[ ,])${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[^ ]*\\.(x86_64|noarch)`).test(text) && !text.includes(`requested ${n}`));
      if (req.length === before) req = req.slice(1);
      r = solve(pool, req.map((n) => ({ op: 'install' as const, what: { name: n } })));
    }
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(req.length).toBeGreaterThanOrEqual(150);
    const m0 = process.memoryUsage();
    const t = performance.now();
    const again = solve(pool, req.map((n) => ({ op: 'install' as const, what: { name: n } })));
    const ms = performance.now() - t;
    const m1 = process.memoryUsage();
    expect(again.ok).toBe(true);
    const [inst] = await installedPackages([r.result]);
    expect(check(inst!)).toEqual([]);
    console.log(`[solve scale] big request: ${req.length} requested → ${r.install.length} installed in ${ms.toFixed(0)} ms (${JSON.stringify(r.stats)}), heap+buffers delta ${((m1.heapUsed + m1.arrayBuffers - m0.heapUsed - m0.arrayBuffers) / 2 ** 20).toFixed(1)} MiB, rss ${(m1.rss / 2 ** 20).toFixed(0)} MiB`);
  }, 600_000);
});
