// Permission strings as rpm's Lua posix module uses them: posix.stat's `mode` ("rwxr-xr-x", with
// s/S/t/T for the special bits), its `type` names, and posix.chmod's mode argument (octal, or
// symbolic `[ugoa]*[+-=][rwxXst]*` clauses separated by commas, or a nine-letter rwx string).

/** The nine-letter permission string of a mode. */
export function modeString(mode: number): string {
  const bit = (m: number, c: string): string => (mode & m ? c : '-');
  let s = bit(0o400, 'r') + bit(0o200, 'w');
  s += mode & 0o4000 ? (mode & 0o100 ? 's' : 'S') : bit(0o100, 'x');
  s += bit(0o040, 'r') + bit(0o020, 'w');
  s += mode & 0o2000 ? (mode & 0o010 ? 's' : 'S') : bit(0o010, 'x');
  s += bit(0o004, 'r') + bit(0o002, 'w');
  s += mode & 0o1000 ? (mode & 0o001 ? 't' : 'T') : bit(0o001, 'x');
  return s;
}

/** posix.stat's `type` for an st_mode. */
export function fileTypeName(mode: number): string {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'regular';
    case 0o120000:
      return 'link';
    case 0o040000:
      return 'directory';
    case 0o020000:
      return 'character device';
    case 0o060000:
      return 'block device';
    case 0o010000:
      return 'fifo';
    case 0o140000:
      return 'socket';
    default:
      return '?';
  }
}

/** Applies a chmod mode string to `mode` (permission bits only); null when the string is bad. */
export function applyModeString(mode: number, spec: string): number | null {
  if (/^[0-7]{1,4}$/.test(spec)) return parseInt(spec, 8);
  if (/^[r-][w-][xsS-][r-][w-][xsS-][r-][w-][xtT-]$/.test(spec)) {
    let m = 0;
    const bits = [0o400, 0o200, 0o100, 0o040, 0o020, 0o010, 0o004, 0o002, 0o001];
    for (let i = 0; i < 9; i++) if (spec[i] !== '-' && spec[i] !== 'S' && spec[i] !== 'T') m |= bits[i]!;
    if (/[sS]/.test(spec[2]!)) m |= 0o4000;
    if (/[sS]/.test(spec[5]!)) m |= 0o2000;
    if (/[tT]/.test(spec[8]!)) m |= 0o1000;
    return m;
  }
  let m = mode & 0o7777;
  for (const clause of spec.split(',')) {
    const c = /^([ugoa]*)([+=-])([rwxXst]*)$/.exec(clause);
    if (!c) return null;
    const who = c[1] === '' || c[1]!.includes('a') ? 'ugo' : c[1]!;
    let perm = 0;
    for (const p of c[3]!) {
      for (const w of who) {
        const shift = w === 'u' ? 6 : w === 'g' ? 3 : 0;
        if (p === 'r') perm |= 4 << shift;
        else if (p === 'w') perm |= 2 << shift;
        else if (p === 'x' || (p === 'X' && (mode & 0o40000 || mode & 0o111))) perm |= 1 << shift;
        else if (p === 's' && w === 'u') perm |= 0o4000;
        else if (p === 's' && w === 'g') perm |= 0o2000;
        else if (p === 't') perm |= 0o1000;
      }
    }
    let mask = 0;
    for (const w of who) mask |= w === 'u' ? 0o4700 : w === 'g' ? 0o2070 : 0o1007;
    if (c[2] === '+') m |= perm;
    else if (c[2] === '-') m &= ~perm;
    else m = (m & ~mask) | (perm & mask);
  }
  return m;
}
