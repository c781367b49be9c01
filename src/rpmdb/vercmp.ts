// rpm's version comparison (rpmvercmp, rpm-packages.md §2.1) and EVR order (epoch, then version,
// then release; a missing epoch is 0), as the rpmdb's package lists sort them.

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isAlpha(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
const TILDE = 126;
const CARET = 94;

/** -1, 0 or 1 as rpmvercmp(a, b). */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const at = (s: string, k: number): number => (k < s.length ? s.charCodeAt(k) : -1);
  const sep = (c: number): boolean => c !== -1 && !isDigit(c) && !isAlpha(c) && c !== TILDE && c !== CARET;
  for (;;) {
    while (sep(at(a, i))) i++;
    while (sep(at(b, j))) j++;
    const ca = at(a, i);
    const cb = at(b, j);
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
    const cls = numeric ? isDigit : isAlpha;
    const si = i;
    const sj = j;
    while (cls(at(a, i))) i++;
    while (cls(at(b, j))) j++;
    if (j === sj) return numeric ? 1 : -1;
    let x = a.slice(si, i);
    let y = b.slice(sj, j);
    if (numeric) {
      x = x.replace(/^0+/, '');
      y = y.replace(/^0+/, '');
      if (x.length !== y.length) return x.length > y.length ? 1 : -1;
    }
    if (x !== y) return x < y ? -1 : 1;
  }
  const ea = i >= a.length;
  const eb = j >= b.length;
  if (ea && eb) return 0;
  return ea ? -1 : 1;
}

/** Order of two packages' EVRs (epoch null = 0). */
export function compareEvr(
  a: { epoch: number | null; version: string; release: string },
  b: { epoch: number | null; version: string; release: string },
): number {
  const ea = a.epoch ?? 0;
  const eb = b.epoch ?? 0;
  if (ea !== eb) return ea < eb ? -1 : 1;
  return rpmvercmp(a.version, b.version) || rpmvercmp(a.release, b.release);
}
