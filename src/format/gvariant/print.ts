// GVariant text form, reproducing GLib's g_variant_print(value, type_annotate) output exactly
// (ostree show --raw, ostree summary --view and the ostree test suite depend on this text).

import { type GVType, parseType } from './type.ts';
import { UNPRINTABLE_RANGES } from './unprintable.ts';
import type { GVValue, GVVariant } from './value.ts';

let rangeStarts: Uint32Array | null = null;
let rangeEnds: Uint32Array | null = null;

function loadRanges(): void {
  const nums = UNPRINTABLE_RANGES.split(',').map((x) => parseInt(x, 36));
  const n = nums.length / 2;
  rangeStarts = new Uint32Array(n);
  rangeEnds = new Uint32Array(n);
  let prevEnd = -1;
  for (let k = 0; k < n; k++) {
    const start = prevEnd + 1 + nums[2 * k];
    prevEnd = start + nums[2 * k + 1];
    rangeStarts[k] = start;
    rangeEnds[k] = prevEnd;
  }
}

/** g_unichar_isprint with GLib's own Unicode tables (independent of the JS engine's Unicode version). */
export function isPrintable(c: number): boolean {
  if (c >= 0x20 && c < 0x7f) return true;
  if (!rangeStarts) loadRanges();
  const starts = rangeStarts!;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] > c) hi = mid - 1;
    else if (rangeEnds![mid] < c) lo = mid + 1;
    else return false;
  }
  return true;
}

/** Quotes a string the way g_variant_print does (GLib unicode escapes for unprintables). */
export function quoteString(s: string): string {
  const quote = s.includes("'") ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === quote || ch === '\\') out += '\\';
    const c = ch.codePointAt(0)!;
    if (isPrintable(c)) {
      out += ch;
      continue;
    }
    switch (c) {
      case 7: out += '\\a'; break;
      case 8: out += '\\b'; break;
      case 12: out += '\\f'; break;
      case 10: out += '\\n'; break;
      case 13: out += '\\r'; break;
      case 9: out += '\\t'; break;
      case 11: out += '\\v'; break;
      default:
        out += c < 0x10000 ? '\\u' + c.toString(16).padStart(4, '0') : '\\U' + c.toString(16).padStart(8, '0');
    }
  }
  return out + quote;
}

/** g_strescape on bytes (C escapes, octal for the rest), as used for b'…' byte strings. */
function strescape(bytes: ArrayLike<number>, n: number): string {
  let out = '';
  for (let k = 0; k < n; k++) {
    const c = bytes[k];
    switch (c) {
      case 8: out += '\\b'; break;
      case 12: out += '\\f'; break;
      case 10: out += '\\n'; break;
      case 13: out += '\\r'; break;
      case 9: out += '\\t'; break;
      case 11: out += '\\v'; break;
      case 0x5c: out += '\\\\'; break;
      case 0x22: out += '\\"'; break;
      default:
        if (c < 0x20 || c >= 0x7f) out += '\\' + c.toString(8).padStart(3, '0');
        else out += String.fromCharCode(c);
    }
  }
  return out;
}

/** Byte-string form if the first NUL is the last byte (GLib's rule), else null. */
function byteString(bytes: ArrayLike<number>): string | null {
  const n = bytes.length;
  if (n === 0) return null;
  let k = 0;
  while (k < n && bytes[k] !== 0) k++;
  if (k !== n - 1) return null;
  let hasQuote = false;
  for (let j = 0; j < k; j++) if (bytes[j] === 0x27) hasQuote = true;
  const body = strescape(bytes, k);
  return hasQuote ? `b"${body}"` : `b'${body}'`;
}

/** g_ascii_dtostr ("%.17g") plus GLib's rule of appending ".0" to integral-looking output. */
export function formatDouble(d: number): string {
  let s: string;
  if (Number.isNaN(d)) s = 'nan';
  else if (d === Infinity) s = 'inf';
  else if (d === -Infinity) s = '-inf';
  else if (d === 0) s = Object.is(d, -0) ? '-0' : '0';
  else {
    const exp = Number(d.toExponential(16).split('e')[1]);
    if (exp < -4 || exp >= 17) {
      const [mant, e] = d.toExponential(16).split('e');
      const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
      const en = Number(e);
      s = `${m}e${en < 0 ? '-' : '+'}${String(Math.abs(en)).padStart(2, '0')}`;
    } else {
      s = d.toFixed(16 - exp);
      if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
    }
  }
  if (!/[.eEnN]/.test(s)) s += '.0';
  return s;
}

function fail(t: GVType, msg: string): never {
  throw new Error(`cannot print GVariant '${t.str}': ${msg}`);
}

function printValue(t: GVType, v: GVValue, annotate: boolean): string {
  switch (t.code) {
    case 'b': return v ? 'true' : 'false';
    case 'y': return (annotate ? 'byte ' : '') + '0x' + Number(v).toString(16).padStart(2, '0');
    case 'n': return (annotate ? 'int16 ' : '') + String(v);
    case 'q': return (annotate ? 'uint16 ' : '') + String(v);
    case 'i': return String(v);
    case 'u': return (annotate ? 'uint32 ' : '') + String(v);
    case 'x': return (annotate ? 'int64 ' : '') + String(v);
    case 't': return (annotate ? 'uint64 ' : '') + String(v);
    case 'h': return (annotate ? 'handle ' : '') + String(v);
    case 'd': return formatDouble(Number(v));
    case 's': return quoteString(String(v));
    case 'o': return (annotate ? 'objectpath ' : '') + quoteString(String(v));
    case 'g': return (annotate ? 'signature ' : '') + quoteString(String(v));
    case 'v': {
      const inner = v as GVVariant;
      if (!inner || typeof inner.type !== 'string') fail(t, 'expected a {type, value} variant');
      return '<' + printValue(parseType(inner.type), inner.value, true) + '>';
    }
    case 'm': return printMaybe(t, v, annotate);
    case 'a': return printArray(t, v, annotate);
    case '{': {
      const [k, val] = v as GVValue[];
      const m = t.members!;
      return '{' + printValue(m[0], k, annotate) + ', ' + printValue(m[1], val, annotate) + '}';
    }
    default: {
      const members = t.members!;
      const items = v as GVValue[];
      if (!Array.isArray(items) || items.length !== members.length) fail(t, 'tuple length mismatch');
      const parts = members.map((m, k) => printValue(m, items[k], annotate));
      return '(' + parts.join(', ') + (members.length === 1 ? ',)' : ')');
    }
  }
}

function printMaybe(t: GVType, v: GVValue, annotate: boolean): string {
  const prefix = annotate ? `@${t.str} ` : '';
  if (v === null) return prefix + 'nothing';
  // Unwrap all directly nested maybes; print "just" only where a Nothing needs disambiguating.
  let cur: GVType = t;
  let val: GVValue = v;
  let justs = 0;
  while (cur.code === 'm') {
    if (val === null) return prefix + 'just '.repeat(justs) + 'nothing';
    if (cur.elem!.code === 'm') val = (val as GVValue[])[0];
    cur = cur.elem!;
    justs++;
  }
  return prefix + printValue(cur, val, false);
}

function printArray(t: GVType, v: GVValue, annotate: boolean): string {
  const elem = t.elem!;
  const isDict = elem.code === '{';
  if (elem.code === 'y') {
    const bytes = v as ArrayLike<number>;
    const bs = byteString(bytes);
    if (bs !== null) return bs;
  }
  const items = v as ArrayLike<GVValue>;
  const n = items.length;
  if (n === 0) return (annotate ? `@${t.str} ` : '') + (isDict ? '{}' : '[]');
  const parts = new Array<string>(n);
  let ann = annotate;
  if (isDict) {
    const [kt, vt] = elem.members!;
    for (let k = 0; k < n; k++) {
      const [key, val] = items[k] as GVValue[];
      parts[k] = printValue(kt, key, ann) + ': ' + printValue(vt, val, ann);
      ann = false;
    }
    return '{' + parts.join(', ') + '}';
  }
  for (let k = 0; k < n; k++) {
    parts[k] = printValue(elem, items[k], ann);
    ann = false;
  }
  return '[' + parts.join(', ') + ']';
}

/** Text form of `value` as g_variant_print(value, annotate) would print it. */
export function printGVariant(type: string, value: GVValue, annotate: boolean): string {
  return printValue(parseType(type), value, annotate);
}
