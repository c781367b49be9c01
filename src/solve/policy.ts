// Candidate policy, as dnf/libsolv apply it (policy.c, poolarch.c): which architectures a host
// accepts (x86_64 takes x86_64 and noarch; i686 and friends only with multilib; src/nosrc never),
// and in what order candidates are tried: repo priority (lower wins), then per name the highest
// EVR and the best architecture, then — between different names — the alphabetically first name.

import { DepFlag } from '../rpm/types.ts';
import type { Pool } from './pool.ts';
import { DepKind } from './pool.ts';
import { compareEvrStrings, rangesOverlap } from './version.ts';

const MULTILIB: Record<string, string[]> = {
  x86_64: ['i686', 'i586', 'i486', 'i386', 'athlon'],
  aarch64: [],
  ppc64le: [],
  s390x: [],
  ppc64: ['ppc'],
};

/** Architectures acceptable on `hostArch`, best first (noarch is always acceptable). */
export function acceptedArches(hostArch: string, multilib: boolean): string[] {
  const out = [hostArch];
  if (hostArch === 'x86_64') out.unshift('x86_64_v4', 'x86_64_v3', 'x86_64_v2');
  if (multilib) out.push(...(MULTILIB[hostArch] ?? []));
  out.push('noarch');
  return out;
}

/** Scores arch ids: 0 = not installable, higher = better. */
export function archScores(pool: Pool, hostArch: string, multilib: boolean): Map<number, number> {
  const m = new Map<number, number>();
  const list = acceptedArches(hostArch, multilib);
  list.forEach((a, i) => {
    // noarch ranks with the host arch: libsolv never prefers one over the other by arch alone
    const score = a === 'noarch' ? list.length - list.indexOf(hostArch) : list.length - i;
    m.set(pool.intern(a), score);
  });
  return m;
}

/** Orders candidates best first (priority, then per-name EVR and arch, then name). Returns a new array. */
export function sortCandidates(pool: Pool, cands: ArrayLike<number>, scores: Map<number, number>): number[] {
  const arr = Array.from(cands);
  arr.sort((a, b) => comparePolicy(pool, a, b, scores));
  return arr;
}

/** Negative when a is the better candidate. */
export function comparePolicy(pool: Pool, a: number, b: number, scores: Map<number, number>): number {
  const pa = pool.priority(a);
  const pb = pool.priority(b);
  if (pa !== pb) return pa - pb;
  const na = pool.name(a);
  const nb = pool.name(b);
  if (na !== nb) {
    const sa = pool.str(na);
    const sb = pool.str(nb);
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  }
  const c = compareEvrStrings(pool.str(pool.evr(b)), pool.str(pool.evr(a)));
  if (c !== 0) return c;
  const aa = scores.get(pool.arch(a)) ?? 0;
  const ab = scores.get(pool.arch(b)) ?? 0;
  if (aa !== ab) return ab - aa;
  // prefer what is installed, then the lower id (the order packages were added)
  const ia = pool.isInstalled(a) ? 0 : 1;
  const ib = pool.isInstalled(b) ? 0 : 1;
  if (ia !== ib) return ia - ib;
  return a - b;
}

/**
 * Drops candidates another candidate of the list obsoletes (libsolv's prune_obsoleted: asking for
 * an obsoleted package gets its replacement).
 */
export function pruneObsoleted(pool: Pool, cands: number[]): number[] {
  if (cands.length < 2) return cands;
  let gone: Set<number> | null = null;
  for (const c of cands) {
    const [s, e] = pool.depRange(c, DepKind.OBSOLETES);
    for (let i = s; i < e; i++) {
      const n = pool.depName(i);
      for (const o of cands) {
        if (o === c || pool.name(o) !== n || pool.name(o) === pool.name(c)) continue;
        if (!rangesOverlap(DepFlag.EQUAL, pool.str(pool.evr(o)), pool.depFlags(i), pool.str(pool.depEvr(i)))) continue;
        (gone ??= new Set()).add(o);
      }
    }
  }
  if (!gone) return cands;
  const kept = cands.filter((c) => !gone!.has(c));
  return kept.length ? kept : cands;
}

/** The best candidate, or -1 for an empty list. */
export function pickBest(pool: Pool, cands: number[], scores: Map<number, number>): number {
  const list = pruneObsoleted(pool, cands);
  let best = -1;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (best < 0 || comparePolicy(pool, c, best, scores) < 0) best = c;
  }
  return best;
}
