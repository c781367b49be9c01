// Solver jobs and policies on small hand-made pools, with expected answers taken from dnf's
// documented behaviour (dnf.conf(5), rpm-packages.md §6): lock, exclude, erase (dependents go
// too), upgrade, installed packages staying put, --allowerasing, the arch policy (x86_64 + noarch;
// i686 only with multilib; src never), repo priority, reasons, and argument validation.

import { describe, expect, it } from 'vitest';
import { DepFlag, formatNevra } from '../../src/rpm/types.ts';
import type { Dependency, PackageDependencies } from '../../src/rpm/types.ts';
import { createPool, solve } from '../../src/solve/index.ts';
import type { Job, Pool, Transaction } from '../../src/solve/index.ts';

const dep = (s: string): Dependency => {
  if (s.startsWith('(')) return { name: s, flags: 0, version: '' };
  const m = /^(\S+)(?:\s+(<=|>=|=|<|>)\s+(\S+))?$/.exec(s)!;
  const f: Record<string, number> = { '<': 2, '>': 4, '=': 8, '<=': 10, '>=': 12 };
  return { name: m[1]!, flags: m[2] ? f[m[2]]! : 0, version: m[3] ?? '' };
};
interface Spec {
  n: string;
  v?: string;
  a?: string;
  req?: string[];
  con?: string[];
  obs?: string[];
  rec?: string[];
}
function add(pool: Pool, repo: number, s: Spec): number {
  const deps: PackageDependencies = { provides: [], requires: (s.req ?? []).map(dep), conflicts: (s.con ?? []).map(dep), obsoletes: (s.obs ?? []).map(dep), recommends: (s.rec ?? []).map(dep), suggests: [], supplements: [], enhances: [] };
  return pool.addPackage({ name: s.n, epoch: null, version: s.v ?? '1', release: '1', arch: s.a ?? 'noarch' }, deps, { repo });
}
function world(system: Spec[], repo: Spec[], opts: { priority?: number } = {}): Pool {
  const pool = createPool();
  const sys = pool.addRepo('@System', { installed: true });
  const r = pool.addRepo('fx', { priority: opts.priority ?? 99 });
  for (const s of system) add(pool, sys, s);
  for (const s of repo) add(pool, r, s);
  return pool;
}
const names = (items: { nevra: { name: string; version: string; arch: string } }[]): string[] => items.map((i) => `${i.nevra.name}-${i.nevra.version}.${i.nevra.arch}`).sort();
function ok(r: ReturnType<typeof solve>): Transaction {
  if (!r.ok) throw new Error(r.text);
  return r;
}
const install = (n: string): Job => ({ op: 'install', what: { name: n } });

describe('solver jobs', () => {
  it('keeps installed packages and installs only what is missing', () => {
    const pool = world([{ n: 'lib', v: '1' }], [{ n: 'lib', v: '2' }, { n: 'app', req: ['lib'] }]);
    const t = ok(solve(pool, [install('app')]));
    expect(names(t.install)).toEqual(['app-1.noarch']);
    expect(t.upgrade).toEqual([]);
  });
  it('upgrades when a requirement needs a newer version', () => {
    const pool = world([{ n: 'lib', v: '1' }], [{ n: 'lib', v: '2' }, { n: 'app', req: ['lib >= 2'] }]);
    const t = ok(solve(pool, [install('app')]));
    expect(names(t.upgrade)).toEqual(['lib-2.noarch']);
    expect(t.upgrade[0]!.replacesNevra.version).toBe('1');
    expect(t.erase).toEqual([]);
  });
  it('upgrade (all) takes the newest installable version', () => {
    const pool = world([{ n: 'a', v: '1' }, { n: 'b', v: '1' }], [{ n: 'a', v: '2' }, { n: 'a', v: '3', req: ['missing'] }, { n: 'b', v: '1' }]);
    const t = ok(solve(pool, [{ op: 'upgrade' }]));
    expect(names(t.upgrade)).toEqual(['a-2.noarch']);
  });
  it('refuses to remove an installed package, unless allowErasing', () => {
    const pool = world([{ n: 'old' }], [{ n: 'new', con: ['old'] }]);
    const r = solve(pool, [install('new')]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.text).toContain('problem with installed package old-1-1.noarch');
    const t = ok(solve(pool, [install('new')], { allowErasing: true }));
    expect(names(t.erase)).toEqual(['old-1.noarch']);
  });
  it('erase removes dependents too', () => {
    const pool = world([{ n: 'lib' }, { n: 'app', req: ['lib'] }, { n: 'other' }], []);
    const t = ok(solve(pool, [{ op: 'erase', what: { name: 'lib' } }]));
    expect(names(t.erase)).toEqual(['app-1.noarch', 'lib-1.noarch']);
    expect(t.erase.find((e) => e.nevra.name === 'lib')!.reason).toBe('user');
  });
  it('lock keeps a package out (or in)', () => {
    const pool = world([{ n: 'a', v: '1' }], [{ n: 'a', v: '2' }, { n: 'b' }, { n: 'c', req: ['b'] }]);
    expect(solve(pool, [{ op: 'lock', what: { name: 'b' } }, install('c')]).ok).toBe(false);
    const t = ok(solve(pool, [{ op: 'lock', what: { name: 'a' } }, { op: 'upgrade' }]));
    expect(t.upgrade).toEqual([]);
  });
  it('exclude hides packages; another provider is chosen', () => {
    const pool = world([], [{ n: 'p1', v: '1' }, { n: 'app', req: ['(p1 or p2)'] }, { n: 'p2' }]);
    const t = ok(solve(pool, [{ op: 'exclude', what: { name: 'p1' } }, install('app')]));
    expect(names(t.install)).toEqual(['app-1.noarch', 'p2-1.noarch']);
  });
  it('selects by provides, NEVRA and file path', () => {
    const pool = createPool();
    const r = pool.addRepo('fx');
    pool.addPackage({ name: 'tool', epoch: 2, version: '1.0', release: '3', arch: 'x86_64' }, { provides: [{ name: 'cap', flags: DepFlag.EQUAL, version: '5' }], requires: [], conflicts: [], obsoletes: [], recommends: [], suggests: [], supplements: [], enhances: [] }, { repo: r, files: ['/usr/bin/tool'] });
    for (const what of [{ provides: 'cap >= 4' }, { nevra: 'tool-2:1.0-3.x86_64' }, { nevra: 'tool-1.0-3' }, { file: '/usr/bin/tool' }, { spec: '/usr/bin/tool' }, { spec: 'cap' }]) {
      const t = ok(solve(pool, [{ op: 'install', what }]));
      expect(t.install.map((i) => formatNevra(i.nevra))).toEqual(['tool-2:1.0-3.x86_64']);
    }
    const r2 = solve(pool, [{ op: 'install', what: { provides: 'cap > 5' } }]);
    expect(r2.ok ? '' : r2.text).toBe(' Problem: nothing provides requested cap > 5');
  });
});

describe('solver policy', () => {
  it('x86_64 accepts x86_64 and noarch; i686 only with multilib; src never', () => {
    const pool = world([], [{ n: 'lib', a: 'i686', v: '2' }, { n: 'only32', a: 'i686' }, { n: 'srcpkg', a: 'src' }, { n: 'lib', a: 'x86_64', v: '1' }]);
    expect(names(ok(solve(pool, [install('lib')])).install)).toEqual(['lib-1.x86_64']);
    const r = solve(pool, [install('only32')]);
    expect(r.ok ? '' : r.text).toBe(' Problem: conflicting requests\n  - package only32-1-1.i686 does not have a compatible architecture');
    expect(names(ok(solve(pool, [install('only32')], { multilib: true })).install)).toEqual(['only32-1.i686']);
    expect(solve(pool, [install('srcpkg')], { multilib: true }).ok).toBe(false);
  });
  it('repo priority beats version; then the highest EVR', () => {
    const pool = createPool();
    const hi = pool.addRepo('updates', { priority: 10 });
    const lo = pool.addRepo('base');
    add(pool, lo, { n: 'x', v: '9' });
    add(pool, hi, { n: 'x', v: '2' });
    add(pool, hi, { n: 'x', v: '3' });
    expect(names(ok(solve(pool, [install('x')])).install)).toEqual(['x-3.noarch']);
  });
  it('reasons: user, dependency, weak', () => {
    const pool = world([], [{ n: 'app', req: ['lib'], rec: ['extra'] }, { n: 'lib' }, { n: 'extra', req: ['extralib'] }, { n: 'extralib' }]);
    const t = ok(solve(pool, [install('app')]));
    const reasons = Object.fromEntries(t.install.map((i) => [i.nevra.name, i.reason]));
    expect(reasons).toEqual({ app: 'user', lib: 'dependency', extra: 'weak', extralib: 'dependency' });
  });
  it('a malformed rich dependency fails the solve with an error naming the package', () => {
    const pool = world([], [{ n: 'bad', req: ['(a or b and c)'] }]);
    expect(() => solve(pool, [install('bad')])).toThrow(/package bad-1-1\.noarch: invalid rich dependency .*cannot chain different operators/);
  });
  it('validates its arguments', () => {
    const pool = world([], []);
    expect(() => solve(pool, 'x' as unknown as Job[])).toThrow(/array/);
    expect(() => solve(pool, [{ op: 'frob' } as unknown as Job])).toThrow(/unknown job/);
    expect(() => solve(pool, [{ op: 'install' } as unknown as Job])).toThrow(/needs a selector/);
    expect(() => solve(pool, [install('x')], { arch: '' })).toThrow(/arch/);
    expect(() => solve(pool, [{ op: 'install', what: { file: 'rel/path' } }])).toThrow(/absolute/);
  });
});
