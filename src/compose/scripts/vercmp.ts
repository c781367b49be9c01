// rpm's version comparison (rpmvercmp) and EVR comparison, for Lua's rpm.vercmp in scriptlets.
// Behaviour per rpm-packages.md §2.1/§2.2: alternating alphabetic and numeric segments, numeric
// beats alphabetic, leading zeros ignored, `~` sorts before everything (even the end), `^` after
// the end but before anything else; EVR compares epoch (missing = 0), then version, then release
// (a missing release is older than any, as rpmverCmp).

const isAlnum = (c: string): boolean => /[A-Za-z0-9]/.test(c);
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isAlpha = (c: string): boolean => /[A-Za-z]/.test(c);

/** rpmvercmp(a, b): -1, 0 or 1. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < a.length && !isAlnum(a[i]!) && a[i] !== '~' && a[i] !== '^') i++;
    while (j < b.length && !isAlnum(b[j]!) && b[j] !== '~' && b[j] !== '^') j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]!);
    const take = (s: string, k: number): number => {
      while (k < s.length && (numeric ? isDigit(s[k]!) : isAlpha(s[k]!))) k++;
      return k;
    };
    const ei = take(a, i);
    const ej = take(b, j);
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (sb === '') return numeric ? 1 : -1;
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** Splits `[E:]V[-R]`. */
export function parseEvr(s: string): { epoch: number; version: string; release: string | null } {
  let rest = s;
  let epoch = 0;
  const colon = rest.indexOf(':');
  if (colon >= 0 && /^\d+$/.test(rest.slice(0, colon))) {
    epoch = Number(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  if (dash >= 0) return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
  return { epoch, version: rest, release: null };
}

/** Compares two `[E:]V[-R]` strings as rpm.vercmp does: -1, 0 or 1. */
export function evrCompare(a: string, b: string): number {
  const x = parseEvr(a);
  const y = parseEvr(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  const v = rpmvercmp(x.version, y.version);
  if (v !== 0) return v;
  // As rpmverCmp: a missing release sorts before any release (a missing epoch is 0).
  if (x.release === null || y.release === null) return x.release === y.release ? 0 : x.release === null ? -1 : 1;
  return rpmvercmp(x.release, y.release);
}
