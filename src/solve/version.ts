// Version arithmetic for the solver: rpm's `rpmvercmp` segment comparison (epochs aside), `[E:]V[-R]`
// parsing and ordering, and the range-overlap test rpm and libsolv use to decide whether a Provides
// satisfies a Requires (rpmds / rpmver "overlap", libsolv's EVRCMP_MATCH_RELEASE). Mirrors rpm's
// rpmio/rpmvercmp.c and lib/rpmver.c behaviour as described in rpm-packages.md §2.1–2.2.

import { DepFlag } from '../rpm/types.ts';
import { XylemError } from '../util/errors.ts';

/** Longest version string compared; longer ones are refused (hostile input). */
export const MAX_VERSION_LENGTH = 4096;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isAlnum(c: number): boolean {
  return isDigit(c) || isAlpha(c);
}
const TILDE = 126;
const CARET = 94;

/**
 * rpm's version-segment comparison: -1, 0 or 1. Non-alphanumeric characters other than `~` and
 * `^` (including every non-ASCII character) are separators; `~` sorts before everything (even the
 * end), `^` after the end but before anything else; numeric segments beat alpha ones; numbers
 * compare without leading zeros.
 */
export function rpmvercmp(a: string, b: string): number {
  if (typeof a !== 'string' || typeof b !== 'string') throw new XylemError('rpmvercmp: versions must be strings', 'EINVAL');
  if (a.length > MAX_VERSION_LENGTH || b.length > MAX_VERSION_LENGTH) throw new XylemError(`rpmvercmp: version longer than ${MAX_VERSION_LENGTH} characters`, 'EINVAL');
  if (a === b) return 0;
  const la = a.length;
  const lb = b.length;
  let i = 0;
  let j = 0;
  while (i < la || j < lb) {
    while (i < la && !isAlnum(a.charCodeAt(i)) && a.charCodeAt(i) !== TILDE && a.charCodeAt(i) !== CARET) i++;
    while (j < lb && !isAlnum(b.charCodeAt(j)) && b.charCodeAt(j) !== TILDE && b.charCodeAt(j) !== CARET) j++;
    const ca = i < la ? a.charCodeAt(i) : 0;
    const cb = j < lb ? b.charCodeAt(j) : 0;
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === CARET || cb === CARET) {
      if (i >= la) return -1;
      if (j >= lb) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (i >= la || j >= lb) break;
    let ei = i;
    let ej = j;
    const numeric = isDigit(ca);
    if (numeric) {
      while (ei < la && isDigit(a.charCodeAt(ei))) ei++;
      while (ej < lb && isDigit(b.charCodeAt(ej))) ej++;
    } else {
      while (ei < la && isAlpha(a.charCodeAt(ei))) ei++;
      while (ej < lb && isAlpha(b.charCodeAt(ej))) ej++;
    }
    if (ej === j) return numeric ? 1 : -1;
    let si = i;
    let sj = j;
    if (numeric) {
      while (si < ei && a.charCodeAt(si) === 48) si++;
      while (sj < ej && b.charCodeAt(sj) === 48) sj++;
      const da = ei - si;
      const db = ej - sj;
      if (da !== db) return da > db ? 1 : -1;
    }
    // bytewise comparison of the two segments (ASCII only here)
    const na = ei - si;
    const nb = ej - sj;
    const n = na < nb ? na : nb;
    for (let k = 0; k < n; k++) {
      const x = a.charCodeAt(si + k);
      const y = b.charCodeAt(sj + k);
      if (x !== y) return x < y ? -1 : 1;
    }
    if (na !== nb) return na < nb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= la && j >= lb) return 0;
  return i >= la ? -1 : 1;
}

/** A parsed `[E:]V[-R]`. `epoch` is '' when absent (compares as 0); `release` is null when absent. */
export interface Evr {
  epoch: string;
  version: string;
  release: string | null;
}

/** Splits `[E:]V[-R]`: leading digits before `:` are the epoch, the release follows the last `-`. */
export function parseEvr(evr: string): Evr {
  if (typeof evr !== 'string') throw new XylemError('parseEvr: EVR must be a string', 'EINVAL');
  if (evr.length > MAX_VERSION_LENGTH) throw new XylemError(`EVR longer than ${MAX_VERSION_LENGTH} characters`, 'EINVAL');
  let epoch = '';
  let rest = evr;
  let k = 0;
  while (k < evr.length && isDigit(evr.charCodeAt(k))) k++;
  if (k < evr.length && evr.charCodeAt(k) === 58 /* : */) {
    epoch = evr.slice(0, k);
    rest = evr.slice(k + 1);
  }
  const dash = rest.lastIndexOf('-');
  if (dash < 0) return { epoch, version: rest, release: null };
  return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
}

function compareEpoch(a: string, b: string): number {
  return rpmvercmp(a === '' ? '0' : a, b === '' ? '0' : b);
}

/** Package order: epoch (missing = 0), version, then release (a missing release sorts first). */
export function compareEvr(a: Evr, b: Evr): number {
  const e = compareEpoch(a.epoch, b.epoch);
  if (e !== 0) return e;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return v;
  if (a.release === null) return b.release === null ? 0 : -1;
  if (b.release === null) return 1;
  return rpmvercmp(a.release, b.release);
}

/** Package order of two NEVRA-like values (epoch null = 0; versions and releases always present). */
export function comparePackageEvr(
  a: { epoch: number | null; version: string; release: string },
  b: { epoch: number | null; version: string; release: string },
): number {
  const ea = a.epoch ?? 0;
  const eb = b.epoch ?? 0;
  if (ea !== eb) return ea < eb ? -1 : 1;
  return rpmvercmp(a.version, b.version) || rpmvercmp(a.release, b.release);
}

/** compareEvr on strings. */
export function compareEvrStrings(a: string, b: string): number {
  return a === b ? 0 : compareEvr(parseEvr(a), parseEvr(b));
}

/**
 * Whether two version ranges overlap (same name assumed): `flags` carry rpm's LESS/GREATER/EQUAL
 * bits. A side without sense bits or without a version matches anything. Releases are compared only
 * when both sides have one; when exactly one side lacks a release and the versions are equal, the
 * ranges overlap if the side without the release includes EQUAL.
 */
export function rangesOverlap(aFlags: number, aEvr: string, bFlags: number, bEvr: string): boolean {
  const as = aFlags & DepFlag.SENSEMASK;
  const bs = bFlags & DepFlag.SENSEMASK;
  if (as === 0 || bs === 0 || aEvr === '' || bEvr === '') return true;
  const a = parseEvr(aEvr);
  const b = parseEvr(bEvr);
  let sense = compareEpoch(a.epoch, b.epoch);
  if (sense === 0) {
    sense = rpmvercmp(a.version, b.version);
    if (sense === 0) {
      if (a.release !== null && a.release !== '' && b.release !== null && b.release !== '') sense = rpmvercmp(a.release, b.release);
      else if (((a.release ?? '') !== '' && bs & DepFlag.EQUAL) || ((b.release ?? '') !== '' && as & DepFlag.EQUAL)) return true;
    }
  }
  if (sense < 0) return (as & DepFlag.GREATER) !== 0 || (bs & DepFlag.LESS) !== 0;
  if (sense > 0) return (as & DepFlag.LESS) !== 0 || (bs & DepFlag.GREATER) !== 0;
  return ((as & bs) & (DepFlag.EQUAL | DepFlag.LESS | DepFlag.GREATER)) !== 0;
}

/**
 * Whether a Provides (name, flags, evr) satisfies a Requires (name, flags, evr): same name and
 * overlapping ranges. An unversioned provide satisfies only unversioned requires in rpm; libsolv
 * treats a provide without version as matching any version (rpm 4.x semantics too), which is what
 * dnf does, so that is what this does.
 */
export function provideMatches(pName: string, pFlags: number, pEvr: string, rName: string, rFlags: number, rEvr: string): boolean {
  if (pName !== rName) return false;
  return rangesOverlap(pFlags, pEvr, rFlags, rEvr);
}

/** Human form of a dependency as dnf prints it: `name`, `name >= 1.0`. */
export function formatDep(name: string, flags: number, evr: string): string {
  const s = flags & DepFlag.SENSEMASK;
  if (s === 0 || evr === '') return name;
  const op = SENSE_TEXT[s] ?? '?';
  return `${name} ${op} ${evr}`;
}

const SENSE_TEXT: Record<number, string> = { 2: '<', 4: '>', 8: '=', 10: '<=', 12: '>=', 6: '<>', 14: '<=>' };
