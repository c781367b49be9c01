// Strict GVariant deserialiser: normal-form bytes -> JS values. Input is hostile: every framing
// offset, size, padding byte, string and nested type string is checked, and anything GLib would not
// produce itself (i.e. not in normal form) is rejected with a descriptive CorruptionError.

import { type GVType, MAX_VALUE_DEPTH, isObjectPath, isSignature, parseType } from './type.ts';
import { type GVValue, alignUp, offsetWidthFor, offsetWidthOfSize } from './value.ts';
import { CorruptionError } from '../../util/errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** Up to this length, ASCII strings are built char by char (faster than TextDecoder's call overhead). */
const SHORT_ASCII = 32;

class Reader {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  readonly le: boolean;
  readonly rootType: string;
  readonly context: string | undefined;

  constructor(rootType: string, data: Uint8Array, bigEndian: boolean, context: string | undefined) {
    this.bytes = data;
    this.dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.le = !bigEndian;
    this.rootType = rootType;
    this.context = context;
  }

  fail(t: GVType, at: number, what: string): never {
    const where = this.context ? `${this.context}: ` : '';
    const inner = t.str === this.rootType ? '' : ` in '${t.str}'`;
    throw new CorruptionError(`${where}invalid GVariant '${this.rootType}': ${what}${inner} at offset ${at}`);
  }

  zeros(t: GVType, from: number, to: number): void {
    const b = this.bytes;
    for (let k = from; k < to; k++) if (b[k] !== 0) this.fail(t, k, 'non-zero padding byte');
  }

  offset(at: number, width: number): number {
    const b = this.bytes;
    switch (width) {
      case 1: return b[at];
      case 2: return b[at] | (b[at + 1] << 8);
      case 4: return this.dv.getUint32(at, true);
      default: {
        const hi = this.dv.getUint32(at + 4, true);
        // Anything at or above 2^53 cannot be in bounds; saturate to keep the arithmetic exact.
        return hi >= 0x200000 ? Number.MAX_SAFE_INTEGER : hi * 0x100000000 + this.dv.getUint32(at, true);
      }
    }
  }

  string(t: GVType, start: number, end: number): string {
    const b = this.bytes;
    if (end <= start) this.fail(t, start, 'empty string data (missing NUL terminator)');
    const last = end - 1;
    if (b[last] !== 0) this.fail(t, last, 'string not NUL-terminated');
    let ascii = true;
    for (let k = start; k < last; k++) {
      const c = b[k];
      if (c === 0) this.fail(t, k, 'embedded NUL in string');
      if (c >= 0x80) ascii = false;
    }
    let s = '';
    if (ascii && last - start <= SHORT_ASCII) {
      for (let k = start; k < last; k++) s += String.fromCharCode(b[k]);
    } else {
      try {
        s = utf8.decode(b.subarray(start, last));
      } catch {
        this.fail(t, start, 'invalid UTF-8 in string');
      }
    }
    if (t.code === 'o' && !isObjectPath(s)) this.fail(t, start, `invalid object path ${JSON.stringify(s)}`);
    if (t.code === 'g' && !isSignature(s)) this.fail(t, start, `invalid signature ${JSON.stringify(s)}`);
    return s;
  }

  value(t: GVType, start: number, end: number, depth: number): GVValue {
    const size = end - start;
    if (t.fixedSize !== 0 && size !== t.fixedSize) {
      this.fail(t, start, `wrong size ${size} for fixed-size type (expected ${t.fixedSize})`);
    }
    const le = this.le;
    switch (t.code) {
      case 'y': return this.bytes[start];
      case 'b': {
        const v = this.bytes[start];
        if (v > 1) this.fail(t, start, `boolean byte ${v} is not 0 or 1`);
        return v === 1;
      }
      case 'n': return this.dv.getInt16(start, le);
      case 'q': return this.dv.getUint16(start, le);
      case 'i':
      case 'h': return this.dv.getInt32(start, le);
      case 'u': return this.dv.getUint32(start, le);
      case 'x': return this.dv.getBigInt64(start, le);
      case 't': return this.dv.getBigUint64(start, le);
      case 'd': return this.dv.getFloat64(start, le);
      case 's':
      case 'o':
      case 'g': return this.string(t, start, end);
      case 'v': return this.variant(t, start, end, depth);
      case 'm': return this.maybe(t, start, end, depth);
      case 'a': return this.array(t, start, end, depth);
      default: return t.fixedSize !== 0 ? this.fixedStruct(t, start, end, depth) : this.struct(t, start, end, depth);
    }
  }

  variant(t: GVType, start: number, end: number, depth: number): GVValue {
    const b = this.bytes;
    let sep = end - 1;
    while (sep >= start && b[sep] !== 0) sep--;
    if (sep < start) this.fail(t, start, 'variant has no type-string separator');
    if (sep === end - 1) this.fail(t, sep, 'variant has an empty type string');
    let typeStr = '';
    for (let k = sep + 1; k < end; k++) typeStr += String.fromCharCode(b[k]);
    let child: GVType;
    try {
      child = parseType(typeStr);
    } catch (e) {
      this.fail(t, sep + 1, (e as Error).message);
    }
    if (depth + 1 + child.depth > MAX_VALUE_DEPTH) this.fail(t, start, 'variants nested too deeply');
    return { type: child.str, value: this.value(child, start, sep, depth + 1) };
  }

  maybe(t: GVType, start: number, end: number, depth: number): GVValue {
    if (end === start) return null;
    const elem = t.elem!;
    let inner: GVValue;
    if (elem.fixedSize !== 0) {
      inner = this.value(elem, start, end, depth + 1);
    } else {
      if (this.bytes[end - 1] !== 0) this.fail(t, end - 1, 'maybe value lacks its trailing zero byte');
      inner = this.value(elem, start, end - 1, depth + 1);
    }
    return elem.code === 'm' ? [inner] : inner;
  }

  array(t: GVType, start: number, end: number, depth: number): GVValue {
    const elem = t.elem!;
    const size = end - start;
    if (elem.fixedSize !== 0) {
      if (elem.code === 'y') return this.bytes.subarray(start, end);
      const es = elem.fixedSize;
      if (size % es !== 0) this.fail(t, start, `array size ${size} is not a multiple of element size ${es}`);
      const n = size / es;
      const out = new Array<GVValue>(n);
      for (let k = 0, p = start; k < n; k++, p += es) out[k] = this.value(elem, p, p + es, depth + 1);
      return out;
    }
    if (size === 0) return [];
    const w = offsetWidthOfSize(size);
    const tableStart = this.offset(end - w, w);
    if (tableStart > size) this.fail(t, end - w, `framing offset ${tableStart} out of bounds (size ${size})`);
    const tableLen = size - tableStart;
    if (tableLen === 0 || tableLen % w !== 0) this.fail(t, start + tableStart, 'framing offset table has a bad size');
    const n = tableLen / w;
    if (offsetWidthFor(tableStart, n) !== w) this.fail(t, start, 'framing offsets are wider than necessary');
    const out = new Array<GVValue>(n);
    const table = start + tableStart;
    let pos = start;
    for (let k = 0; k < n; k++) {
      const elemStart = alignUp(pos, elem.align);
      const elemEnd = start + this.offset(table + k * w, w);
      if (elemEnd < elemStart || elemEnd > table) {
        this.fail(t, table + k * w, `framing offset ${elemEnd - start} out of order or out of bounds`);
      }
      this.zeros(t, pos, elemStart);
      out[k] = this.value(elem, elemStart, elemEnd, depth + 1);
      pos = elemEnd;
    }
    return out;
  }

  fixedStruct(t: GVType, start: number, end: number, depth: number): GVValue {
    const members = t.members!;
    const out = new Array<GVValue>(members.length);
    let pos = start;
    for (let k = 0; k < members.length; k++) {
      const m = members[k];
      const ms = alignUp(pos, m.align);
      this.zeros(t, pos, ms);
      out[k] = this.value(m, ms, ms + m.fixedSize, depth + 1);
      pos = ms + m.fixedSize;
    }
    this.zeros(t, pos, end);
    return out;
  }

  struct(t: GVType, start: number, end: number, depth: number): GVValue {
    const members = t.members!;
    const size = end - start;
    const w = offsetWidthOfSize(size);
    const last = members.length - 1;
    const out = new Array<GVValue>(members.length);
    let used = 0; // framing offsets consumed from the end
    let pos = start;
    for (let k = 0; k <= last; k++) {
      const m = members[k];
      const ms = alignUp(pos, m.align);
      let me: number;
      if (m.fixedSize !== 0) {
        me = ms + m.fixedSize;
      } else if (k === last) {
        me = end - used * w;
      } else {
        used++;
        const at = end - used * w;
        if (w === 0 || at < start) this.fail(t, start, 'struct too short for its framing offsets');
        me = start + this.offset(at, w);
      }
      if (me < ms || me > end - used * w) this.fail(t, ms, `member ${k} ('${m.str}') ends out of bounds`);
      this.zeros(t, pos, ms);
      out[k] = this.value(m, ms, me, depth + 1);
      pos = me;
    }
    const tableStart = end - used * w;
    if (pos !== tableStart) this.fail(t, pos, `${tableStart - pos} unexpected trailing bytes`);
    if (used !== 0 && offsetWidthFor(tableStart - start, used) !== w) {
      this.fail(t, start, 'framing offsets are wider than necessary');
    }
    return out;
  }
}

/** Strictly decodes normal-form `data` of type `type`. */
export function decodeValue(type: string, data: Uint8Array, bigEndian: boolean, context: string | undefined): GVValue {
  const t = parseType(type);
  const r = new Reader(t.str, data, bigEndian, context);
  return r.value(t, 0, data.length, 0);
}
