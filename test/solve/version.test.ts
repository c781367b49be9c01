// rpmvercmp, EVR order and range overlap against rpm itself: `rpm --eval '%{lua: …rpm.vercmp…}'`
// on the known vectors of rpm-packages.md §2.1 and a few thousand seeded random version strings
// (one rpm call for the whole batch), plus the overlap rules of §2.2 on known cases.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DepFlag } from '../../src/rpm/types.ts';
import { compareEvrStrings, parseEvr, rangesOverlap, rpmvercmp } from '../../src/solve/version.ts';
import { hasCommand } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { seededUniform } from '../helpers/pseudo-random.ts';

const KNOWN: [string, string, number][] = [
  ['1.0', '1.0', 0], ['1.0', '1.0a', -1], ['1.01', '1.1', 0], ['2.0', '10', -1], ['1.0', '1.0.0', -1], ['1_0', '1.0', 0],
  ['1.0', '1.0.', 0], ['1.0~rc1', '1.0', -1], ['1.0', '1.0^git1', -1], ['1.0^git1', '1.0.1', -1], ['a', '1', -1],
  ['1.0~rc1', '1.0~rc2', -1], ['1.0~~', '1.0~', -1], ['1.0^', '1.0', 1], ['1.0^git1~pre', '1.0^git1', -1], ['Z', 'a', -1],
  ['001', '1', 0], ['1.é.2', '1.2', 0], ['1é', '1', 0], ['abc', 'abd', -1], ['ab', 'abc', -1], ['5.5p1', '5.5p10', -1], ['xyz.4', 'xyz.4', 0],
];

/** Runs rpm.vercmp over all pairs in one rpm process; returns its answers. */
function rpmVercmp(pairs: [string, string][]): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'xylem-vercmp-'));
  try {
    // rpm's Lua print() collects output without separators: gather, then print once
    const lua = 'local t = {}\n' + pairs.map(([a, b]) => `t[#t+1] = rpm.vercmp([==[${a}]==], [==[${b}]==])`).join('\n') + '\nprint(table.concat(t, "\\n"))\n';
    writeFileSync(join(dir, 'cmp.lua'), lua);
    const out = execFileSync('rpm', ['--eval', `%{lua: dofile("${join(dir, 'cmp.lua')}")}`], { encoding: 'utf8', maxBuffer: 1 << 26 });
    return out.trim().split('\n').map(Number);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const seeded = seededUniform;

const ALPHABET = ['0', '0', '1', '2', '9', '10', '007', 'a', 'b', 'Z', 'rc', 'git', '.', '.', '_', '+', '~', '^', 'é', 'ß'];

function randomVersion(rnd: () => number): string {
  const n = 1 + Math.floor(rnd() * 7);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rnd() * ALPHABET.length)];
  return s;
}

describe('rpmvercmp: known vectors', () => {
  for (const [a, b, want] of KNOWN)
    it(`${a} vs ${b}`, () => {
      expect(rpmvercmp(a, b)).toBe(want);
      expect(rpmvercmp(b, a)).toBe(0 - want || 0);
    });
  it('refuses hostile input', () => {
    expect(() => rpmvercmp('1'.repeat(5000), '1')).toThrow(/longer than/);
    expect(() => rpmvercmp(1 as unknown as string, '1')).toThrow(/strings/);
  });
});

describe.skipIf(missing('rpm vercmp oracle', { rpm: hasCommand('rpm') }))('rpmvercmp and EVR order vs rpm', () => {
  it('agrees with rpm on the known vectors', () => {
    const got = rpmVercmp(KNOWN.map(([a, b]) => [a, b]));
    expect(KNOWN.map(([a, b]) => rpmvercmp(a, b))).toEqual(got);
  });
  it('agrees with rpm on 4000 seeded random version strings', () => {
    const rnd = seeded(20261207);
    const pairs: [string, string][] = [];
    for (let i = 0; i < 4000; i++) {
      const a = randomVersion(rnd);
      // half the pairs share a prefix, so comparisons go deep
      const b = rnd() < 0.5 ? a + randomVersion(rnd).slice(0, 2) : randomVersion(rnd);
      pairs.push([a, b]);
    }
    const want = rpmVercmp(pairs);
    const mismatches = pairs.filter(([a, b], i) => rpmvercmp(a, b) !== want[i]).slice(0, 5);
    expect(mismatches).toEqual([]);
  });
  it('agrees with rpm on 2000 seeded random [E:]V-R strings', () => {
    const rnd = seeded(7);
    const evr = (): string => {
      const e = rnd() < 0.3 ? `${Math.floor(rnd() * 3)}:` : '';
      const r = rnd() < 0.7 ? `-${randomVersion(rnd).replace(/[-:]/g, '')}` : '';
      return `${e}${randomVersion(rnd)}${r}`;
    };
    const pairs: [string, string][] = [];
    for (let i = 0; i < 2000; i++) pairs.push([evr(), evr()]);
    const want = rpmVercmp(pairs);
    const mismatches = pairs.filter(([a, b], i) => compareEvrStrings(a, b) !== want[i]).slice(0, 5);
    expect(mismatches).toEqual([]);
  });
});

describe('EVR parsing and range overlap (§2.2)', () => {
  const { LESS: L, GREATER: G, EQUAL: E } = DepFlag;
  it('parses epoch, version, release', () => {
    expect(parseEvr('2:1.0-3.fc40')).toEqual({ epoch: '2', version: '1.0', release: '3.fc40' });
    expect(parseEvr('1.0')).toEqual({ epoch: '', version: '1.0', release: null });
    expect(parseEvr(':1.0-1')).toEqual({ epoch: '', version: '1.0', release: '1' });
    expect(parseEvr('1.0-a-b')).toEqual({ epoch: '', version: '1.0-a', release: 'b' });
  });
  it('matches release-less requirements as rpm and libsolv do', () => {
    expect(rangesOverlap(E, '1.0-5', E, '1.0')).toBe(true); // Provides foo = 1.0-5, Requires foo = 1.0
    expect(rangesOverlap(E, '1.0-5', G, '1.0')).toBe(false); // … Requires foo > 1.0
    expect(rangesOverlap(E, '1.0-5', G | E, '1.0')).toBe(true);
    expect(rangesOverlap(E, '1.0-5', L, '1.0')).toBe(false);
    expect(rangesOverlap(E, '1.0-5', L, '1.0-6')).toBe(true);
    expect(rangesOverlap(E, '1.0-5', G, '1.0-4')).toBe(true);
    expect(rangesOverlap(E, '1.0-5', G, '1.0-5')).toBe(false);
    expect(rangesOverlap(G, '1.0', G, '1.0-3')).toBe(true);
    expect(rangesOverlap(L, '1.0', G, '2.0')).toBe(false);
    expect(rangesOverlap(L, '3.0', G, '2.0')).toBe(true);
    expect(rangesOverlap(E, '1.0', 0, '')).toBe(true);
    expect(rangesOverlap(0, '', G, '9')).toBe(true); // unversioned provide matches every version
  });
  it('compares epochs before versions, a missing epoch as 0', () => {
    expect(rangesOverlap(E, '1:1.0-1', G, '2.0')).toBe(true);
    expect(rangesOverlap(E, '0:1.0-1', E, '1.0-1')).toBe(true);
    expect(compareEvrStrings('1.0-1', '0:1.0-1')).toBe(0);
    expect(compareEvrStrings('1.0', '1.0-1')).toBe(-1);
  });
});
