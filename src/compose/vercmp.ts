// rpm's version comparison (rpmvercmp) and EVR ordering, as much as compose needs to sort
// `rpmostree.rpmdb.pkglist` and tell upgrades from downgrades in `db diff`. Mirrors rpm's
// rpmio/rpmvercmp.c behaviour (reference note rpm-packages.md §2.1–2.2). src/solve carries the
// solver's own copy; once both land they should share one (the lead merges them).

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** rpmvercmp(a, b): -1, 0 or 1. Strings are compared by UTF-16 code unit (ASCII rules apply). */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const TILDE = 126;
  const CARET = 94;
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(a.charCodeAt(i)) && a.charCodeAt(i) !== TILDE && a.charCodeAt(i) !== CARET) i++;
    while (j < b.length && !isAlnum(b.charCodeAt(j)) && b.charCodeAt(j) !== TILDE && b.charCodeAt(j) !== CARET) j++;
    const ca = i < a.length ? a.charCodeAt(i) : -1;
    const cb = j < b.length ? b.charCodeAt(j) : -1;
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === CARET || cb === CARET) {
      if (ca === -1) return -1;
      if (cb === -1) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === -1 || cb === -1) break;
    const numeric = isDigit(ca);
    const test = numeric ? isDigit : isAlpha;
    let ei = i;
    while (ei < a.length && test(a.charCodeAt(ei))) ei++;
    let ej = j;
    while (ej < b.length && test(b.charCodeAt(ej))) ej++;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    i = ei;
    j = ej;
    if (sb.length === 0) return numeric ? 1 : -1;
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
  }
  const restA = i < a.length;
  const restB = j < b.length;
  if (!restA && !restB) return 0;
  return restA ? 1 : -1;
}

/** Package EVR order: epoch (missing = 0) numerically, then version, then release. */
export function compareEvr(
  a: { epoch: number | null; version: string; release: string },
  b: { epoch: number | null; version: string; release: string },
): number {
  const ea = a.epoch ?? 0;
  const eb = b.epoch ?? 0;
  if (ea !== eb) return ea < eb ? -1 : 1;
  return rpmvercmp(a.version, b.version) || rpmvercmp(a.release, b.release);
}
