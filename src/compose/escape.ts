// Package cache ref names: `rpmostree/pkg/<q(name)>/<q(evr)>.<q(arch)>` as rpm-ostree writes them
// (rpmostree-rpm-util.cxx; reference note rpm-packages.md §8). q() keeps ASCII letters, digits, `.`
// and `-`, doubles `_`, and writes any other byte as `_` + two uppercase hex digits. Bytes ≥ 0x80
// go through a signed char upstream and print as `_FFFFFFxx`; we reproduce that on purpose so a
// repo written by either tool names the same package with the same ref.

import type { Nevra } from '../rpm/types.ts';
import { formatEvr } from '../rpm/types.ts';
import { XylemError } from '../util/errors.ts';

export const PKGCACHE_PREFIX = 'rpmostree/pkg/';

const HEX = '0123456789ABCDEF';

function keep(b: number): boolean {
  return (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b === 46 || b === 45;
}

/** Escapes one component of a pkgcache ref. */
export function escapeRefComponent(s: string): string {
  if (typeof s !== 'string') throw new TypeError('escapeRefComponent: a string is required');
  const bytes = new TextEncoder().encode(s);
  let out = '';
  for (const b of bytes) {
    if (keep(b)) out += String.fromCharCode(b);
    else if (b === 95) out += '__';
    else if (b >= 0x80) out += `_FFFFFF${HEX[b >> 4]}${HEX[b & 15]}`;
    else out += `_${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

/** Reverses escapeRefComponent; throws on a malformed escape. */
export function unescapeRefComponent(s: string): string {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 95) {
      out.push(c);
      continue;
    }
    if (s[i + 1] === '_') {
      out.push(95);
      i++;
      continue;
    }
    let hex = s.slice(i + 1, i + 3);
    let skip = 2;
    if (s.slice(i + 1, i + 7) === 'FFFFFF') {
      hex = s.slice(i + 7, i + 9);
      skip = 8;
    }
    if (!/^[0-9A-F]{2}$/.test(hex)) throw new XylemError(`Invalid escape in pkgcache ref component '${s}'`, 'EINVAL');
    out.push(parseInt(hex, 16));
    i += skip;
  }
  return new TextDecoder().decode(new Uint8Array(out));
}

/** The pkgcache ref of a package: its evr without a zero epoch (libdnf's form). */
export function pkgcacheRef(p: Nevra): string {
  if (!p || typeof p.name !== 'string' || p.name === '') throw new TypeError('pkgcacheRef: a package with a name is required');
  return `${PKGCACHE_PREFIX}${escapeRefComponent(p.name)}/${escapeRefComponent(formatEvr(p))}.${escapeRefComponent(p.arch)}`;
}

/** Decodes a pkgcache ref into name, evr and arch; null when `ref` is not one. */
export function parsePkgcacheRef(ref: string): { name: string; evr: string; arch: string } | null {
  if (!ref.startsWith(PKGCACHE_PREFIX)) return null;
  const rest = ref.slice(PKGCACHE_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const tail = rest.slice(slash + 1);
  const dot = tail.lastIndexOf('.');
  if (dot <= 0) return null;
  return { name: unescapeRefComponent(rest.slice(0, slash)), evr: unescapeRefComponent(tail.slice(0, dot)), arch: unescapeRefComponent(tail.slice(dot + 1)) };
}
