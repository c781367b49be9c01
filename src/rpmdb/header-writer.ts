// A small rpm header encoder: typed tag values, a fresh header (optionally wrapped in an immutable
// region, as rpmbuild writes one), and an existing region with "dribble" entries appended after it
// (what librpm's headerExport writes for an installed package: the region's index entries and
// data kept byte-for-byte, then the added entries sorted by tag, each one's data aligned for its
// type relative to the start of the data area, pad bytes zero). Big-endian throughout.

import { XylemError } from '../util/errors.ts';
import type { HeaderBlob } from './header-blob.ts';
import { HeaderType, MAX_HEADER_DATA, MAX_HEADER_ENTRIES, typeAlignment } from './header-blob.ts';

/** One tag ready to be written: `data` holds its bytes exactly as stored (big-endian numbers). */
export interface HeaderValue {
  tag: number;
  type: number;
  count: number;
  data: Uint8Array;
}

const enc = new TextEncoder();

function checkTag(tag: number): void {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffffff) throw new TypeError(`header tag ${tag} is not a u32`);
}

function toBytes(s: string | Uint8Array): Uint8Array {
  const b = typeof s === 'string' ? enc.encode(s) : s;
  if (b.includes(0)) throw new TypeError('header strings may not contain NUL bytes');
  return b;
}

/** INT32 array value. */
export function int32Value(tag: number, values: readonly number[]): HeaderValue {
  checkTag(tag);
  if (values.length < 1) throw new TypeError(`tag ${tag}: an INT32 value needs at least one item`);
  const data = new Uint8Array(4 * values.length);
  const dv = new DataView(data.buffer);
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new TypeError(`tag ${tag}: ${v} is not a 32-bit integer`);
    dv.setUint32(4 * i, v >>> 0);
  });
  return { tag, type: HeaderType.INT32, count: values.length, data };
}

/** CHAR array value (one byte per item). */
export function charValue(tag: number, bytes: Uint8Array): HeaderValue {
  checkTag(tag);
  if (bytes.length < 1) throw new TypeError(`tag ${tag}: a CHAR value needs at least one item`);
  return { tag, type: HeaderType.CHAR, count: bytes.length, data: bytes.slice() };
}

/** BIN value. */
export function binValue(tag: number, bytes: Uint8Array): HeaderValue {
  checkTag(tag);
  if (bytes.length < 1) throw new TypeError(`tag ${tag}: a BIN value needs at least one byte`);
  return { tag, type: HeaderType.BIN, count: bytes.length, data: bytes.slice() };
}

/** STRING value. */
export function stringValue(tag: number, s: string | Uint8Array): HeaderValue {
  checkTag(tag);
  const b = toBytes(s);
  const data = new Uint8Array(b.length + 1);
  data.set(b);
  return { tag, type: HeaderType.STRING, count: 1, data };
}

/** STRING_ARRAY (or I18NSTRING with `type`) value. */
export function stringArrayValue(tag: number, items: readonly (string | Uint8Array)[], type: number = HeaderType.STRING_ARRAY): HeaderValue {
  checkTag(tag);
  if (items.length < 1) throw new TypeError(`tag ${tag}: a string array needs at least one item`);
  const parts = items.map(toBytes);
  const data = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length + 1;
  }
  return { tag, type, count: parts.length, data };
}

function pad(pos: number, type: number): number {
  const a = typeAlignment(type);
  return (a - (pos % a)) % a;
}

function checkSizes(il: number, dl: number): void {
  if (il > MAX_HEADER_ENTRIES) throw new XylemError(`rpm header would have ${il} entries (limit ${MAX_HEADER_ENTRIES})`, 'EHEADERSIZE');
  if (dl > MAX_HEADER_DATA) throw new XylemError(`rpm header would have ${dl} data bytes (limit ${MAX_HEADER_DATA})`, 'EHEADERSIZE');
}

function writeEntry(out: DataView, i: number, tag: number, type: number, offset: number, count: number): void {
  const o = 8 + 16 * i;
  out.setUint32(o, tag);
  out.setUint32(o + 4, type);
  out.setInt32(o + 8, offset);
  out.setUint32(o + 12, count);
}

/** Lays out values after `start` bytes of data: each value's offset, and the data end. */
function layout(values: readonly HeaderValue[], start: number): { offsets: number[]; end: number } {
  const offsets: number[] = [];
  let pos = start;
  for (const v of values) {
    pos += pad(pos, v.type);
    offsets.push(pos);
    pos += v.data.length;
  }
  return { offsets, end: pos };
}

function sortedByTag(values: readonly HeaderValue[]): HeaderValue[] {
  const sorted = [...values].sort((a, b) => a.tag - b.tag);
  for (let i = 1; i < sorted.length; i++) if (sorted[i]!.tag === sorted[i - 1]!.tag) throw new TypeError(`tag ${sorted[i]!.tag} given twice`);
  return sorted;
}

/**
 * A header blob (no magic) holding `values` sorted by tag. With `regionTag` (63 for a main header)
 * the entries are wrapped in a region as rpmbuild writes it: region entry first, trailer last.
 */
export function encodeHeader(values: readonly HeaderValue[], opts: { regionTag?: number } = {}): Uint8Array {
  const sorted = sortedByTag(values);
  const region = opts.regionTag;
  const il = sorted.length + (region === undefined ? 0 : 1);
  const { offsets, end } = layout(sorted, 0);
  const dl = end + (region === undefined ? 0 : 16);
  checkSizes(il, dl);
  const out = new Uint8Array(8 + 16 * il + dl);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, il);
  dv.setUint32(4, dl);
  const ds = 8 + 16 * il;
  let idx = 0;
  if (region !== undefined) writeEntry(dv, idx++, region, HeaderType.BIN, end, 16);
  sorted.forEach((v, i) => {
    writeEntry(dv, idx++, v.tag, v.type, offsets[i]!, v.count);
    out.set(v.data, ds + offsets[i]!);
  });
  if (region !== undefined) {
    const t = ds + end;
    dv.setUint32(t, region);
    dv.setUint32(t + 4, HeaderType.BIN);
    dv.setInt32(t + 8, -16 * il);
    dv.setUint32(t + 12, 16);
  }
  return out;
}

/**
 * `base` (its index entries and data kept byte-for-byte) with `dribbles` appended after it, sorted
 * by tag — the layout librpm's headerExport gives an installed header.
 */
export function appendDribbles(base: HeaderBlob, dribbles: readonly HeaderValue[]): Uint8Array {
  const sorted = sortedByTag(dribbles);
  for (const v of sorted) if (base.has(v.tag)) throw new TypeError(`${base.what}: tag ${v.tag} is already in the header`);
  const il = base.il + sorted.length;
  const { offsets, end } = layout(sorted, base.dl);
  checkSizes(il, end);
  const out = new Uint8Array(8 + 16 * il + end);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, il);
  dv.setUint32(4, end);
  const src = base.bytes;
  out.set(src.subarray(8, 8 + 16 * base.il), 8);
  const ds = 8 + 16 * il;
  out.set(src.subarray(8 + 16 * base.il), ds);
  sorted.forEach((v, i) => {
    writeEntry(dv, base.il + i, v.tag, v.type, offsets[i]!, v.count);
    out.set(v.data, ds + offsets[i]!);
  });
  return out;
}
