// GVariant serialiser: JS values -> normal-form bytes (as GLib's g_variant_get_data produces).
// Writes every container in place into one growing buffer; framing offsets are appended after
// each container body once its size is known.

import { type GVType, MAX_VALUE_DEPTH, isObjectPath, isSignature, parseType } from './type.ts';
import { type GVValue, type GVVariant, alignUp, offsetWidthFor } from './value.ts';

const utf8 = new TextEncoder();
const LONE_SURROGATE = /\p{Cs}/u;

class Writer {
  buf: Uint8Array;
  dv: DataView;
  pos = 0;
  readonly le: boolean;

  constructor(bigEndian: boolean, initial: number) {
    this.buf = new Uint8Array(initial);
    this.dv = new DataView(this.buf.buffer);
    this.le = !bigEndian;
  }

  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    if (cap < need) cap = need;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }

  /** Advances to `align`; the buffer is zero-filled so padding needs no writes. */
  pad(align: number): void {
    const p = alignUp(this.pos, align);
    if (p !== this.pos) {
      this.ensure(p - this.pos);
      this.pos = p;
    }
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Appends little-endian framing offsets of width `w`. */
  offsets(list: ArrayLike<number>, w: number, reverse: boolean): void {
    const n = list.length;
    this.ensure(n * w);
    for (let k = 0; k < n; k++) {
      let v = list[reverse ? n - 1 - k : k];
      for (let b = 0; b < w; b++) {
        this.buf[this.pos++] = v % 256;
        v = Math.floor(v / 256);
      }
    }
  }
}

function fail(t: GVType, msg: string): never {
  throw new Error(`cannot encode GVariant '${t.str}': ${msg}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return 'Uint8Array';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function intIn(t: GVType, v: GVValue, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(t, `expected an integer in [${min}, ${max}], got ${typeof v === 'number' ? v : describe(v)}`);
  }
  return v;
}

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const U64_MAX = (1n << 64n) - 1n;

function big(t: GVType, v: GVValue, min: bigint, max: bigint): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else fail(t, `expected a bigint (or safe integer), got ${typeof v === 'number' ? v : describe(v)}`);
  if (b < min || b > max) fail(t, `value ${b} out of range`);
  return b;
}

function writeString(w: Writer, t: GVType, v: GVValue): void {
  if (typeof v !== 'string') fail(t, `expected a string, got ${describe(v)}`);
  if (t.code === 'o' && !isObjectPath(v)) fail(t, `invalid object path ${JSON.stringify(v)}`);
  if (t.code === 'g' && !isSignature(v)) fail(t, `invalid signature ${JSON.stringify(v)}`);
  const n = v.length;
  w.ensure(n * 3 + 1);
  const buf = w.buf;
  let p = w.pos;
  let k = 0;
  // ASCII fast path; anything else goes through TextEncoder after the well-formedness checks.
  for (; k < n; k++) {
    const c = v.charCodeAt(k);
    if (c >= 0x80) break;
    if (c === 0) fail(t, 'string contains a NUL character');
    buf[p++] = c;
  }
  if (k < n) {
    const rest = v.slice(k);
    if (rest.includes('\0')) fail(t, 'string contains a NUL character');
    if (LONE_SURROGATE.test(rest)) fail(t, 'string is not well-formed UTF-16 (lone surrogate)');
    p += utf8.encodeInto(rest, buf.subarray(p)).written;
  }
  buf[p++] = 0;
  w.pos = p;
}

function isVariant(v: GVValue): v is GVVariant {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) &&
    typeof (v as GVVariant).type === 'string' && 'value' in v;
}

/** Writes `v` of type `t` at the writer's current (already aligned) position. */
function write(w: Writer, t: GVType, v: GVValue, depth: number): void {
  switch (t.code) {
    case 'y':
      w.ensure(1);
      w.buf[w.pos++] = intIn(t, v, 0, 0xff);
      return;
    case 'b':
      if (typeof v !== 'boolean') fail(t, `expected a boolean, got ${describe(v)}`);
      w.ensure(1);
      w.buf[w.pos++] = v ? 1 : 0;
      return;
    case 'n':
      w.ensure(2);
      w.dv.setInt16(w.pos, intIn(t, v, -0x8000, 0x7fff), w.le);
      w.pos += 2;
      return;
    case 'q':
      w.ensure(2);
      w.dv.setUint16(w.pos, intIn(t, v, 0, 0xffff), w.le);
      w.pos += 2;
      return;
    case 'i':
    case 'h':
      w.ensure(4);
      w.dv.setInt32(w.pos, intIn(t, v, -0x80000000, 0x7fffffff), w.le);
      w.pos += 4;
      return;
    case 'u':
      w.ensure(4);
      w.dv.setUint32(w.pos, intIn(t, v, 0, 0xffffffff), w.le);
      w.pos += 4;
      return;
    case 'x':
      w.ensure(8);
      w.dv.setBigInt64(w.pos, big(t, v, I64_MIN, I64_MAX), w.le);
      w.pos += 8;
      return;
    case 't':
      w.ensure(8);
      w.dv.setBigUint64(w.pos, big(t, v, 0n, U64_MAX), w.le);
      w.pos += 8;
      return;
    case 'd':
      if (typeof v !== 'number') fail(t, `expected a number, got ${describe(v)}`);
      w.ensure(8);
      w.dv.setFloat64(w.pos, v, w.le);
      w.pos += 8;
      return;
    case 's':
    case 'o':
    case 'g':
      writeString(w, t, v);
      return;
    case 'v': {
      if (!isVariant(v)) fail(t, `expected a {type, value} variant, got ${describe(v)}`);
      const child = parseType(v.type);
      if (depth + 1 + child.depth > MAX_VALUE_DEPTH) fail(t, 'variants nested too deeply');
      write(w, child, v.value, depth + 1);
      w.ensure(1 + child.str.length);
      w.buf[w.pos++] = 0;
      for (let k = 0; k < child.str.length; k++) w.buf[w.pos++] = child.str.charCodeAt(k);
      return;
    }
    case 'm':
      writeMaybe(w, t, v, depth);
      return;
    case 'a':
      writeArray(w, t, v, depth);
      return;
    default:
      writeStruct(w, t, v, depth);
  }
}

function writeMaybe(w: Writer, t: GVType, v: GVValue, depth: number): void {
  if (v === null) return;
  const elem = t.elem!;
  let inner: GVValue = v;
  if (elem.code === 'm') {
    if (!Array.isArray(v) || v.length !== 1) fail(t, 'Just of a nested maybe must be a one-element array [inner]');
    inner = v[0];
  }
  write(w, elem, inner, depth + 1);
  if (elem.fixedSize === 0) {
    w.ensure(1);
    w.buf[w.pos++] = 0;
  }
}

function writeArray(w: Writer, t: GVType, v: GVValue, depth: number): void {
  const elem = t.elem!;
  if (elem.code === 'y' && v instanceof Uint8Array) {
    w.bytes(v);
    return;
  }
  if (!Array.isArray(v)) fail(t, `expected an array${elem.code === 'y' ? ' or Uint8Array' : ''}, got ${describe(v)}`);
  const n = v.length;
  if (elem.fixedSize !== 0) {
    w.ensure(n * elem.fixedSize);
    for (let k = 0; k < n; k++) write(w, elem, v[k], depth + 1);
    return;
  }
  const start = w.pos;
  const ends = new Array<number>(n);
  for (let k = 0; k < n; k++) {
    w.pad(elem.align);
    write(w, elem, v[k], depth + 1);
    ends[k] = w.pos - start;
  }
  w.offsets(ends, offsetWidthFor(w.pos - start, n), false);
}

function writeStruct(w: Writer, t: GVType, v: GVValue, depth: number): void {
  const members = t.members!;
  if (!Array.isArray(v) || v.length !== members.length) {
    fail(t, `expected a ${members.length}-element array, got ${Array.isArray(v) ? `${v.length} elements` : describe(v)}`);
  }
  const start = w.pos;
  const last = members.length - 1;
  const ends: number[] = [];
  for (let k = 0; k <= last; k++) {
    const m = members[k];
    w.pad(m.align);
    write(w, m, v[k], depth + 1);
    if (m.fixedSize === 0 && k !== last) ends.push(w.pos - start);
  }
  if (t.fixedSize !== 0) {
    const end = start + t.fixedSize;
    w.ensure(end - w.pos);
    w.pos = end;
    return;
  }
  w.offsets(ends, offsetWidthFor(w.pos - start, ends.length), true);
}

/** Serialises `value` as `type` in normal form. */
export function encodeValue(type: string, value: GVValue, bigEndian: boolean): Uint8Array {
  const t = parseType(type);
  const w = new Writer(bigEndian, t.fixedSize || 256);
  write(w, t, value, 0);
  // Exact-size result so callers may safely use `.buffer`.
  return w.pos === w.buf.length ? w.buf : w.buf.slice(0, w.pos);
}
