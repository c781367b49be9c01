// `rpm-ostree db diff | list | version` over two commits' package lists: the diff (packages
// matched by name and arch; a changed EVR is an upgrade or a downgrade by rpm's order) and its three
// renderings — the block format, `-F diff` and `-F json` — plus the rpmdb version string.
// Mirrors rpmostree-db-builtin-diff.cxx / rpmostree-util.cxx (reference note rpm-packages.md §9.4).

import type { Nevra } from '../rpm/types.ts';
import { formatEvr, formatNevra } from '../rpm/types.ts';
import { comparePackages, strcmp } from './pkglist.ts';
import { comparePackageEvr as compareEvr } from '../solve/version.ts';

export const PkgDiffType = { ADDED: 0, REMOVED: 1, UPGRADED: 2, DOWNGRADED: 3 } as const;

export interface PackageDiff {
  added: Nevra[];
  removed: Nevra[];
  /** [old, new] pairs. */
  upgraded: Array<[Nevra, Nevra]>;
  downgraded: Array<[Nevra, Nevra]>;
}

function key(p: Nevra): string {
  return `${p.name}\0${p.arch}`;
}

/** Compares two package lists (any order). Several versions of one name.arch pair by position. */
export function diffPackages(from: readonly Nevra[], to: readonly Nevra[]): PackageDiff {
  if (!Array.isArray(from) || !Array.isArray(to)) throw new TypeError('diffPackages: two package arrays are required');
  const group = (l: readonly Nevra[]) => {
    const m = new Map<string, Nevra[]>();
    for (const p of [...l].sort(comparePackages)) {
      const k = key(p);
      const g = m.get(k);
      if (g) g.push(p);
      else m.set(k, [p]);
    }
    return m;
  };
  const a = group(from);
  const b = group(to);
  const d: PackageDiff = { added: [], removed: [], upgraded: [], downgraded: [] };
  for (const [k, olds] of a) {
    const news = b.get(k) ?? [];
    // Identical EVRs on both sides are unchanged.
    const o = olds.filter((p) => !news.some((q) => compareEvr(p, q) === 0));
    const n = news.filter((q) => !olds.some((p) => compareEvr(p, q) === 0));
    const pairs = Math.min(o.length, n.length);
    for (let i = 0; i < pairs; i++) {
      const c = compareEvr(o[i]!, n[i]!);
      if (c < 0) d.upgraded.push([o[i]!, n[i]!]);
      else d.downgraded.push([o[i]!, n[i]!]);
    }
    d.removed.push(...o.slice(pairs));
    d.added.push(...n.slice(pairs));
  }
  for (const [k, news] of b) if (!a.has(k)) d.added.push(...news);
  d.added.sort(comparePackages);
  d.removed.sort(comparePackages);
  const byName = (x: [Nevra, Nevra], y: [Nevra, Nevra]) => comparePackages(x[0], y[0]);
  d.upgraded.sort(byName);
  d.downgraded.sort(byName);
  return d;
}

/** The block format: `Upgraded:` / `Downgraded:` / `Removed:` / `Added:` sections. */
export function renderDiffBlock(d: PackageDiff): string {
  let out = '';
  const changed = (title: string, l: Array<[Nevra, Nevra]>) => {
    if (l.length === 0) return;
    out += `${title}:\n`;
    for (const [o, n] of l) out += `  ${o.name} ${formatEvr(o)} -> ${formatEvr(n)}\n`;
  };
  const plain = (title: string, l: Nevra[]) => {
    if (l.length === 0) return;
    out += `${title}:\n`;
    for (const p of l) out += `  ${formatNevra(p)}\n`;
  };
  changed('Upgraded', d.upgraded);
  changed('Downgraded', d.downgraded);
  plain('Removed', d.removed);
  plain('Added', d.added);
  return out;
}

/** `-F diff`: `!old` `=new` pairs for changes, `-nevra` removals, `+nevra` additions. */
export function renderDiffLines(d: PackageDiff): string {
  let out = '';
  for (const [o, n] of [...d.upgraded, ...d.downgraded].sort((x, y) => comparePackages(x[0], y[0]))) out += `!${formatNevra(o)}\n=${formatNevra(n)}\n`;
  for (const p of d.removed) out += `-${formatNevra(p)}\n`;
  for (const p of d.added) out += `+${formatNevra(p)}\n`;
  return out;
}

type JsonEntry = [string, number, Record<string, [string, string, string]>];

/** The `pkgdiff` array of `-F json`: (name, type, {PreviousPackage?, NewPackage?}) sorted by name. */
export function pkgdiffEntries(d: PackageDiff): JsonEntry[] {
  const t = (p: Nevra): [string, string, string] => [p.name, formatEvr(p), p.arch];
  const rows: JsonEntry[] = [];
  for (const p of d.added) rows.push([p.name, PkgDiffType.ADDED, { NewPackage: t(p) }]);
  for (const p of d.removed) rows.push([p.name, PkgDiffType.REMOVED, { PreviousPackage: t(p) }]);
  for (const [o, n] of d.upgraded) rows.push([o.name, PkgDiffType.UPGRADED, { PreviousPackage: t(o), NewPackage: t(n) }]);
  for (const [o, n] of d.downgraded) rows.push([o.name, PkgDiffType.DOWNGRADED, { PreviousPackage: t(o), NewPackage: t(n) }]);
  return rows.sort((x, y) => strcmp(x[0], y[0]) || x[1] - y[1]);
}

/** `-F json`: the whole document rpm-ostree prints (json-glib's pretty layout). */
export function renderDiffJson(fromCsum: string, toCsum: string, d: PackageDiff): string {
  const doc = { 'ostree-commit-from': fromCsum, 'ostree-commit-to': toCsum, pkgdiff: pkgdiffEntries(d), advisories: [] as unknown[] };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** The header lines of the block format; `(CSUM)` only when the description is not the checksum. */
export function renderDiffHeader(fromDesc: string, fromCsum: string, toDesc: string, toCsum: string): string {
  const part = (desc: string, csum: string) => (desc === csum ? desc : `${desc} (${csum})`);
  return `ostree diff commit from: ${part(fromDesc, fromCsum)}\nostree diff commit to:   ${part(toDesc, toCsum)}\n`;
}

/** Summary as in status: `N upgraded, N downgraded, N removed, N added`, zero counts left out. */
export function diffSummary(d: PackageDiff): string {
  const parts: string[] = [];
  if (d.upgraded.length) parts.push(`${d.upgraded.length} upgraded`);
  if (d.downgraded.length) parts.push(`${d.downgraded.length} downgraded`);
  if (d.removed.length) parts.push(`${d.removed.length} removed`);
  if (d.added.length) parts.push(`${d.added.length} added`);
  return parts.join(', ');
}
