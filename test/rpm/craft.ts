// Byte-level tools for the RPM reader's hostile-input tests: patch an index entry of a real
// package's header in place, swap in a different payload, and write cpio archives (newc and rpm's
// stripped 07070X form) by hand. Real packages come from rpmbuild; these only damage them.

import { gzipSync } from 'node:zlib';

export function be32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
export function setBe32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 255;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}

/** Absolute offset of `tag`'s index entry in the header starting at `start`. */
export function entryAt(b: Uint8Array, start: number, tag: number): number {
  const il = be32(b, start + 8);
  for (let i = 0; i < il; i++) if (be32(b, start + 16 + 16 * i) === tag) return start + 16 + 16 * i;
  throw new Error(`tag ${tag} not in header`);
}

/** Overwrites one field (tag, type, offset, count) of an index entry. */
export function patchEntry(b: Uint8Array, start: number, tag: number, field: 'tag' | 'type' | 'offset' | 'count', value: number): void {
  const at = entryAt(b, start, tag);
  setBe32(b, at + { tag: 0, type: 4, offset: 8, count: 12 }[field], value >>> 0);
}

/** The data offset of `tag` (absolute), for editing its value in place. */
export function dataAt(b: Uint8Array, start: number, tag: number): number {
  const il = be32(b, start + 8);
  return start + 16 + 16 * il + be32(b, entryAt(b, start, tag) + 8);
}

/** The package with its payload replaced. */
export function withPayload(pkg: Uint8Array, headerEnd: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(headerEnd + payload.length);
  out.set(pkg.subarray(0, headerEnd));
  out.set(payload, headerEnd);
  return out;
}

export interface CpioEntry {
  name: string;
  mode: number;
  data?: Uint8Array | string;
  ino?: number;
  nlink?: number;
  /** declared size when it should differ from data's */
  size?: number;
}

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const pad4 = (parts: Uint8Array[], len: number): number => {
  const p = (4 - (len % 4)) % 4;
  if (p) parts.push(new Uint8Array(p));
  return len + p;
};

/** A newc cpio archive (ending in TRAILER!!!). */
export function cpioNewc(entries: CpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let len = 0;
  const enc = new TextEncoder();
  const add = (e: CpioEntry): void => {
    const data = typeof e.data === 'string' ? enc.encode(e.data) : (e.data ?? new Uint8Array(0));
    const name = enc.encode(e.name + '\0');
    const fields = [e.ino ?? 1, e.mode, 0, 0, e.nlink ?? 1, 0, e.size ?? data.length, 0, 0, 0, 0, name.length, 0];
    const h = enc.encode('070701' + fields.map(hex8).join(''));
    parts.push(h, name);
    len = pad4(parts, len + h.length + name.length);
    parts.push(data);
    len = pad4(parts, len + data.length);
  };
  for (const e of entries) add(e);
  add({ name: 'TRAILER!!!', mode: 0, nlink: 1, ino: 0 });
  return Buffer.concat(parts);
}

/** gzip, as rpm's w9.gzdio. */
export function gz(b: Uint8Array): Uint8Array {
  return gzipSync(b, { level: 9 });
}

/**
 * Rewrites a newc archive into rpm's stripped form: each entry becomes `07070X` + the file's index
 * (from `indexOf(name)`), padded to 4, then its data; the trailer stays newc.
 */
export function cpioToStripped(newc: Uint8Array, indexOf: (name: string) => number): Uint8Array {
  const parts: Uint8Array[] = [];
  let len = 0;
  let p = 0;
  const dec = new TextDecoder();
  const enc = new TextEncoder();
  for (;;) {
    const h = dec.decode(newc.subarray(p, p + 110));
    const size = parseInt(h.slice(54, 62), 16);
    const namesize = parseInt(h.slice(94, 102), 16);
    const name = dec.decode(newc.subarray(p + 110, p + 110 + namesize - 1));
    let q = p + 110 + namesize;
    q += (4 - (q % 4)) % 4;
    const data = newc.subarray(q, q + size);
    let next = q + size;
    next += (4 - (next % 4)) % 4;
    if (name === 'TRAILER!!!') {
      parts.push(newc.subarray(p, next));
      break;
    }
    const hdr = enc.encode('07070X' + hex8(indexOf(name)));
    parts.push(hdr);
    len = pad4(parts, len + hdr.length);
    parts.push(data);
    len = pad4(parts, len + data.length);
    p = next;
  }
  return Buffer.concat(parts);
}
