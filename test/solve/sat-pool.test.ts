// The CDCL engine against brute force (random 3-SAT: same verdict, models satisfy every clause,
// unsatisfiable cores are really unsatisfiable), and the pool: whatprovides (versioned, implicit
// self-provides, file provides from primary then filelists on demand), and hostile input refused.

import { describe, expect, it } from 'vitest';
import { DepFlag } from '../../src/rpm/types.ts';
import type { PackageDependencies } from '../../src/rpm/types.ts';
import { Sat, luby, negLit, posLit } from '../../src/solve/sat.ts';
import { createPool } from '../../src/solve/index.ts';
import { seededUniform } from '../helpers/pseudo-random.ts';

const rng = seededUniform;

function bruteForce(n: number, clauses: number[][]): boolean {
  for (let m = 0; m < 1 << n; m++) if (clauses.every((c) => c.some((l) => ((m >> ((l >>> 1) - 1)) & 1) === (l & 1 ? 0 : 1)))) return true;
  return false;
}

function runSat(n: number, clauses: number[][]): { sat: Sat; core: number[] | null } {
  const sat = new Sat(n);
  clauses.forEach((c, i) => sat.addClause(c, i));
  let next = 1;
  sat.onBacktrack = () => (next = 1);
  const core = sat.solve(() => {
    while (next <= n && sat.value[next] !== 0) next++;
    return next <= n ? negLit(next) : 0;
  });
  return { sat, core };
}

describe('CDCL engine vs brute force', () => {
  it('agrees on 400 random 3-SAT instances around the phase transition', () => {
    const r = rng(99);
    let unsat = 0;
    for (let t = 0; t < 400; t++) {
      const n = 6 + Math.floor(r() * 7);
      const m = Math.floor(n * (3.5 + r() * 2));
      const clauses: number[][] = [];
      for (let i = 0; i < m; i++) clauses.push([0, 1, 2].map(() => (r() < 0.5 ? posLit : negLit)(1 + Math.floor(r() * n))));
      const { sat, core } = runSat(n, clauses);
      expect(core === null).toBe(bruteForce(n, clauses));
      if (core === null) {
        for (const c of clauses) expect(c.some((l) => sat.litValue(l) === 1)).toBe(true);
      } else {
        unsat++;
        // the explanation names original clauses that are unsatisfiable on their own
        expect(bruteForce(n, core.map((i) => clauses[i]!))).toBe(false);
      }
    }
    expect(unsat).toBeGreaterThan(50);
  });
  it('proves the pigeonhole principle PHP(6,5) unsatisfiable, with restarts and learning', () => {
    const P = 6;
    const H = 5;
    const v = (p: number, h: number): number => 1 + p * H + h;
    const clauses: number[][] = [];
    for (let p = 0; p < P; p++) clauses.push(Array.from({ length: H }, (_, h) => posLit(v(p, h))));
    for (let h = 0; h < H; h++) for (let a = 0; a < P; a++) for (let b = a + 1; b < P; b++) clauses.push([negLit(v(a, h)), negLit(v(b, h))]);
    const { sat, core } = runSat(P * H, clauses);
    expect(core).not.toBeNull();
    expect(sat.conflicts).toBeGreaterThan(0);
  });
  it('Luby sequence', () => expect(Array.from({ length: 15 }, (_, i) => luby(i + 1))).toEqual([1, 1, 2, 1, 1, 2, 4, 1, 1, 2, 1, 1, 2, 4, 8]));
  it('refuses bad literals', () => {
    const s = new Sat(2);
    expect(() => s.addClause([posLit(3)], 0)).toThrow(/out of range/);
    expect(() => new Sat(-1)).toThrow(/variable count/);
  });
});

const none = (): PackageDependencies => ({ provides: [], requires: [], conflicts: [], obsoletes: [], recommends: [], suggests: [], supplements: [], enhances: [] });

describe('pool', () => {
  it('answers versioned whatprovides with explicit and implicit provides', () => {
    const pool = createPool();
    const r = pool.addRepo('r');
    const a1 = pool.addPackage({ name: 'a', epoch: null, version: '1', release: '1', arch: 'noarch' }, none(), { repo: r });
    const a2 = pool.addPackage({ name: 'a', epoch: 1, version: '0.5', release: '1', arch: 'noarch' }, none(), { repo: r });
    const b = pool.addPackage({ name: 'b', epoch: null, version: '1', release: '1', arch: 'x86_64' }, { ...none(), provides: [{ name: 'a', flags: DepFlag.EQUAL, version: '3' }, { name: 'virt', flags: 0, version: '' }] }, { repo: r });
    expect([...pool.whatProvidesDep('a', 0, '')]).toEqual([a1, a2, b]);
    expect([...pool.whatProvidesDep('a', DepFlag.GREATER, '2')]).toEqual([a2, b]); // 1:0.5 > 2, and a = 3
    expect([...pool.whatProvidesDep('a', DepFlag.LESS, '2')]).toEqual([a1]);
    expect([...pool.whatProvidesDep('virt', DepFlag.GREATER | DepFlag.EQUAL, '99')]).toEqual([b]); // unversioned provide: every version
    expect([...pool.whatProvidesDep('nothing', 0, '')]).toEqual([]);
  });
  it('answers file requires from primary files first, asking filelists only for the rest, once per path', () => {
    const pool = createPool();
    const r = pool.addRepo('r');
    const a = pool.addPackage({ name: 'a', epoch: null, version: '1', release: '1', arch: 'noarch' }, none(), { repo: r, files: ['/usr/bin/a'] });
    const b = pool.addPackage({ name: 'b', epoch: null, version: '1', release: '1', arch: 'noarch' }, none(), { repo: r });
    const asked: string[] = [];
    pool.setFilelistsProvider((path) => {
      asked.push(path);
      return path === '/usr/share/b/data' ? [b] : [];
    });
    expect([...pool.whatProvidesDep('/usr/bin/a', 0, '')]).toEqual([a]);
    expect(asked).toEqual([]);
    expect([...pool.whatProvidesDep('/usr/share/b/data', 0, '')]).toEqual([b]);
    expect([...pool.whatProvidesDep('/usr/share/b/data', 0, '')]).toEqual([b]);
    expect([...pool.whatProvidesDep('/nowhere', 0, '')]).toEqual([]);
    expect(asked).toEqual(['/usr/share/b/data', '/nowhere']);
    pool.setFilelistsProvider(() => [999]);
    expect(() => pool.whatProvidesDep('/x', 0, '')).toThrow(/unknown package 999/);
  });
  it('refuses hostile packages, naming them', () => {
    const pool = createPool();
    const r = pool.addRepo('r');
    const n = (name: string, extra: object = {}) => ({ name, epoch: null, version: '1', release: '1', arch: 'noarch', ...extra });
    expect(() => pool.addPackage(n(''), none(), { repo: r })).toThrow(/bad package name/);
    expect(() => pool.addPackage(n('a b'), none(), { repo: r })).toThrow(/bad package name/);
    expect(() => pool.addPackage(n('a', { epoch: -1 }), none(), { repo: r })).toThrow(/a: bad epoch/);
    expect(() => pool.addPackage(n('a'), none(), { repo: 7 })).toThrow(/unknown repo/);
    expect(() => pool.addPackage(n('a'), { ...none(), provides: [{ name: '(x or y)', flags: 0, version: '' }] }, { repo: r })).toThrow(/rich dependency .* in Provides/);
    expect(() => pool.addPackage(n('a'), none(), { repo: r, files: ['etc/passwd'] })).toThrow(/not absolute/);
    expect(() => pool.addPackage(n('a'), { ...none(), requires: [{ name: '', flags: 0, version: '' }] }, { repo: r })).toThrow(/without a name/);
    expect(() => pool.addRepo('r')).toThrow(/already/);
    expect(pool.size).toBe(0);
  });
});
