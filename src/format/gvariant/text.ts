// GVariant text format parser (the g_variant_parse subset OSTree's CLI needs, e.g.
// `commit --add-metadata=KEY=VALUE`, `summary -m KEY=VALUE`): literals, type annotations
// (`@t 5`, `uint64 5`), arrays, dicts, tuples, variants, maybes, byte strings, with GLib-style
// type inference (numbers default to int32 / double, strings to 's').

import { type GVType, isObjectPath, isSignature, parseType, scanType } from './type.ts';
import type { GVValue, GVVariant } from './value.ts';

type Node =
  | { k: 'num'; text: string; at: number }
  | { k: 'bool'; v: boolean; at: number }
  | { k: 'str'; v: string; at: number }
  | { k: 'bytes'; v: Uint8Array; at: number }
  | { k: 'array'; items: Node[]; at: number }
  | { k: 'dict'; entries: [Node, Node][]; at: number }
  | { k: 'entry'; key: Node; value: Node; at: number }
  | { k: 'tuple'; items: Node[]; at: number }
  | { k: 'variant'; inner: Node; at: number }
  | { k: 'just'; inner: Node; at: number }
  | { k: 'nothing'; at: number }
  | { k: 'typed'; type: GVType; inner: Node; at: number };

/** A partially known type: wildcards for what the text leaves open. */
type Pat =
  | { k: 'any' }
  | { k: 'num'; float: boolean }
  | { k: 'str' }
  | { k: 'leaf'; code: string }
  | { k: 'a' | 'm'; elem: Pat }
  | { k: 'tuple'; items: Pat[] }
  | { k: 'entry'; key: Pat; value: Pat };

const KEYWORD_TYPES: Record<string, string> = {
  boolean: 'b', byte: 'y', int16: 'n', uint16: 'q', int32: 'i', uint32: 'u', int64: 'x', uint64: 't',
  handle: 'h', double: 'd', string: 's', objectpath: 'o', signature: 'g',
};
const NUMERIC = 'ynqiuxthd';
const INT_RANGE: Record<string, [bigint, bigint]> = {
  y: [0n, 0xffn], n: [-0x8000n, 0x7fffn], q: [0n, 0xffffn], i: [-0x80000000n, 0x7fffffffn],
  u: [0n, 0xffffffffn], h: [-0x80000000n, 0x7fffffffn], x: [-(1n << 63n), (1n << 63n) - 1n], t: [0n, (1n << 64n) - 1n],
};
const C_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };

class TextError extends Error {}

class Parser {
  pos = 0;
  constructor(readonly s: string) {}

  fail(at: number, msg: string): never {
    throw new TextError(`cannot parse GVariant text ${JSON.stringify(this.s)} at position ${at}: ${msg}`);
  }

  ws(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos])) this.pos++;
  }

  expect(ch: string): void {
    this.ws();
    if (this.s[this.pos] !== ch) this.fail(this.pos, `expected '${ch}'`);
    this.pos++;
  }

  peek(): string {
    this.ws();
    return this.s[this.pos] ?? '';
  }

  value(depth: number): Node {
    if (depth > 128) this.fail(this.pos, 'nested too deeply');
    const c = this.peek();
    const at = this.pos;
    if (c === '@') {
      let scanned: { type: GVType; end: number };
      try {
        scanned = scanType(this.s, at + 1);
      } catch {
        this.fail(at + 1, 'invalid type annotation');
      }
      this.pos = scanned.end;
      return { k: 'typed', type: scanned.type, inner: this.value(depth + 1), at };
    }
    if (c === '[') {
      this.pos++;
      const items: Node[] = [];
      if (this.peek() !== ']') {
        do items.push(this.value(depth + 1));
        while (this.comma());
      }
      this.expect(']');
      return { k: 'array', items, at };
    }
    if (c === '(') {
      this.pos++;
      const items: Node[] = [];
      if (this.peek() !== ')') {
        items.push(this.value(depth + 1));
        if (this.comma()) {
          if (this.peek() !== ')') {
            do items.push(this.value(depth + 1));
            while (this.comma());
          }
        }
      }
      this.expect(')');
      return { k: 'tuple', items, at };
    }
    if (c === '{') {
      this.pos++;
      if (this.peek() === '}') {
        this.pos++;
        return { k: 'dict', entries: [], at };
      }
      const key = this.value(depth + 1);
      if (this.peek() === ',') {
        this.pos++;
        const value = this.value(depth + 1);
        this.expect('}');
        return { k: 'entry', key, value, at };
      }
      this.expect(':');
      const entries: [Node, Node][] = [[key, this.value(depth + 1)]];
      while (this.comma()) {
        const k = this.value(depth + 1);
        this.expect(':');
        entries.push([k, this.value(depth + 1)]);
      }
      this.expect('}');
      return { k: 'dict', entries, at };
    }
    if (c === '<') {
      this.pos++;
      const inner = this.value(depth + 1);
      this.expect('>');
      return { k: 'variant', inner, at };
    }
    if (c === "'" || c === '"') return { k: 'str', v: this.string(), at };
    if (c === 'b' && (this.s[at + 1] === "'" || this.s[at + 1] === '"')) {
      this.pos++;
      return { k: 'bytes', v: this.bytestring(), at };
    }
    if (/[0-9+\-.]/.test(c)) return { k: 'num', text: this.word(), at };
    if (/[a-z]/.test(c)) {
      const w = this.word();
      if (w === 'true' || w === 'false') return { k: 'bool', v: w === 'true', at };
      if (w === 'nothing') return { k: 'nothing', at };
      if (w === 'just') return { k: 'just', inner: this.value(depth + 1), at };
      if (w === 'inf' || w === 'nan') return { k: 'num', text: w, at };
      const kt = KEYWORD_TYPES[w];
      if (kt) return { k: 'typed', type: parseType(kt), inner: this.value(depth + 1), at };
      this.fail(at, `unknown keyword '${w}'`);
    }
    this.fail(at, c === '' ? 'unexpected end of input' : `unexpected character '${c}'`);
  }

  comma(): boolean {
    if (this.peek() !== ',') return false;
    this.pos++;
    return true;
  }

  word(): string {
    const start = this.pos;
    while (this.pos < this.s.length && /[0-9A-Za-z_.+\-]/.test(this.s[this.pos])) this.pos++;
    return this.s.slice(start, this.pos);
  }

  string(): string {
    const quote = this.s[this.pos++];
    let out = '';
    while (true) {
      if (this.pos >= this.s.length) this.fail(this.pos, 'unterminated string');
      const ch = this.s[this.pos++];
      if (ch === quote) return out;
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const e = this.s[this.pos++];
      if (e === undefined) this.fail(this.pos, 'unterminated string');
      if (e === 'u' || e === 'U') {
        const n = e === 'u' ? 4 : 8;
        const hex = this.s.slice(this.pos, this.pos + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.fail(this.pos, `invalid \\${e} escape`);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp === 0) this.fail(this.pos, 'invalid code point');
        out += String.fromCodePoint(cp);
        this.pos += n;
      } else if (e in C_ESCAPES) {
        out += String.fromCharCode(C_ESCAPES[e]);
      } else {
        out += e;
      }
    }
  }

  bytestring(): Uint8Array {
    const quote = this.s[this.pos++];
    const out: number[] = [];
    const enc = new TextEncoder();
    while (true) {
      if (this.pos >= this.s.length) this.fail(this.pos, 'unterminated byte string');
      const ch = this.s[this.pos++];
      if (ch === quote) break;
      if (ch !== '\\') {
        for (const b of enc.encode(ch)) out.push(b);
        continue;
      }
      const e = this.s[this.pos++];
      if (e === undefined) this.fail(this.pos, 'unterminated byte string');
      if (/[0-7]/.test(e)) {
        let v = Number(e);
        for (let n = 0; n < 2 && /[0-7]/.test(this.s[this.pos] ?? ''); n++) v = v * 8 + Number(this.s[this.pos++]);
        out.push(v & 0xff);
      } else if (e in C_ESCAPES) {
        out.push(C_ESCAPES[e]);
      } else {
        for (const b of enc.encode(e)) out.push(b);
      }
    }
    // GLib builds the value with g_variant_new_bytestring: content ends at the first NUL.
    const nul = out.indexOf(0);
    if (nul >= 0) out.length = nul;
    out.push(0);
    return new Uint8Array(out);
  }
}

function isFloatLiteral(text: string): boolean {
  const t = text.replace(/^[+-]/, '');
  return t === 'inf' || t === 'nan' || (!/^0x/i.test(t) && /[.e]/.test(t));
}

function typeToPat(t: GVType): Pat {
  switch (t.code) {
    case 'a':
    case 'm': return { k: t.code, elem: typeToPat(t.elem!) };
    case '(': return { k: 'tuple', items: t.members!.map(typeToPat) };
    case '{': return { k: 'entry', key: typeToPat(t.members![0]), value: typeToPat(t.members![1]) };
    default: return { k: 'leaf', code: t.code };
  }
}

/** The most specific pattern compatible with both, or null if none. */
function merge(a: Pat, b: Pat): Pat | null {
  if (a.k === 'any') return b;
  if (b.k === 'any') return a;
  // A plain value stands for Just(value) where a maybe is expected (GLib does the same).
  if (a.k === 'm' && b.k !== 'm') {
    const e = merge(a.elem, b);
    return e && { k: 'm', elem: e };
  }
  if (b.k === 'm' && a.k !== 'm') return merge(b, a);
  if (a.k === 'leaf' && b.k === 'leaf') return a.code === b.code ? a : null;
  if (a.k === 'num' || b.k === 'num') {
    const [n, o] = a.k === 'num' ? [a, b] : [b as Extract<Pat, { k: 'num' }>, a];
    if (o.k === 'num') return { k: 'num', float: n.float || o.float };
    if (o.k === 'leaf' && NUMERIC.includes(o.code) && (!n.float || o.code === 'd')) return o;
    return null;
  }
  if (a.k === 'str' || b.k === 'str') {
    const o = a.k === 'str' ? b : a;
    if (o.k === 'str') return o;
    return o.k === 'leaf' && 'sog'.includes(o.code) ? o : null;
  }
  if ((a.k === 'a' || a.k === 'm') && a.k === b.k) {
    const e = merge(a.elem, (b as typeof a).elem);
    return e && { k: a.k, elem: e };
  }
  if (a.k === 'tuple' && b.k === 'tuple') {
    if (a.items.length !== b.items.length) return null;
    const items: Pat[] = [];
    for (let k = 0; k < a.items.length; k++) {
      const m = merge(a.items[k], b.items[k]);
      if (!m) return null;
      items.push(m);
    }
    return { k: 'tuple', items };
  }
  if (a.k === 'entry' && b.k === 'entry') {
    const key = merge(a.key, b.key);
    const value = merge(a.value, b.value);
    return key && value && { k: 'entry', key, value };
  }
  return null;
}

class Inference {
  constructor(readonly p: Parser) {}

  mergeAll(pats: Pat[], at: number): Pat {
    let acc: Pat = { k: 'any' };
    for (const x of pats) {
      const m = merge(acc, x);
      if (!m) this.p.fail(at, 'unable to find a common type');
      acc = m;
    }
    return acc;
  }

  pat(n: Node): Pat {
    switch (n.k) {
      case 'num': return { k: 'num', float: isFloatLiteral(n.text) };
      case 'bool': return { k: 'leaf', code: 'b' };
      case 'str': return { k: 'str' };
      case 'bytes': return { k: 'a', elem: { k: 'leaf', code: 'y' } };
      case 'array': return { k: 'a', elem: this.mergeAll(n.items.map((i) => this.pat(i)), n.at) };
      case 'dict':
        return {
          k: 'a',
          elem: {
            k: 'entry',
            key: this.mergeAll(n.entries.map((e) => this.pat(e[0])), n.at),
            value: this.mergeAll(n.entries.map((e) => this.pat(e[1])), n.at),
          },
        };
      case 'entry': return { k: 'entry', key: this.pat(n.key), value: this.pat(n.value) };
      case 'tuple': return { k: 'tuple', items: n.items.map((i) => this.pat(i)) };
      case 'variant': return { k: 'leaf', code: 'v' };
      case 'just': return { k: 'm', elem: this.pat(n.inner) };
      case 'nothing': return { k: 'm', elem: { k: 'any' } };
      case 'typed': {
        const tp = typeToPat(n.type);
        if (!merge(tp, this.pat(n.inner))) this.p.fail(n.at, `value does not match type annotation '${n.type.str}'`);
        return tp;
      }
    }
  }

  /** Default concrete type string for a pattern (numbers int32/double, strings 's'). */
  concrete(p: Pat, at: number): string {
    switch (p.k) {
      case 'any': this.p.fail(at, 'unable to infer type');
      // falls through (fail never returns)
      case 'num': return p.float ? 'd' : 'i';
      case 'str': return 's';
      case 'leaf': return p.code;
      case 'a':
      case 'm': return p.k + this.concrete(p.elem, at);
      case 'tuple': return '(' + p.items.map((i) => this.concrete(i, at)).join('') + ')';
      case 'entry': return '{' + this.concrete(p.key, at) + this.concrete(p.value, at) + '}';
    }
  }

  /** Infers (or checks against `expected`) the type of a node and returns it. */
  typeOf(n: Node, expected: GVType | null): GVType {
    const p = this.pat(n);
    if (expected) {
      if (!merge(typeToPat(expected), p)) this.p.fail(n.at, `can not parse as value of type '${expected.str}'`);
      return expected;
    }
    const str = this.concrete(p, n.at);
    try {
      return parseType(str);
    } catch {
      this.p.fail(n.at, `key of dictionary must be a basic type (inferred '${str}')`);
    }
  }

  build(n: Node, t: GVType): GVValue {
    if (t.code === 'm' && n.k !== 'just' && n.k !== 'nothing' && !(n.k === 'typed' && n.type.code === 'm')) {
      const v = this.build(n, t.elem!);
      return t.elem!.code === 'm' ? [v] : v;
    }
    switch (n.k) {
      case 'num': return this.number(n.text, t, n.at);
      case 'bool': return n.v;
      case 'str':
        if (t.code === 'o' && !isObjectPath(n.v)) this.p.fail(n.at, `not a valid object path`);
        if (t.code === 'g' && !isSignature(n.v)) this.p.fail(n.at, `not a valid signature`);
        return n.v;
      case 'bytes': return n.v;
      case 'array': {
        const elem = t.elem!;
        const items = n.items.map((i) => this.build(i, elem));
        return elem.code === 'y' ? new Uint8Array(items as number[]) : items;
      }
      case 'dict': {
        const [kt, vt] = t.elem!.members!;
        return n.entries.map(([k, v]) => [this.build(k, kt), this.build(v, vt)]);
      }
      case 'entry': return [this.build(n.key, t.members![0]), this.build(n.value, t.members![1])];
      case 'tuple': return n.items.map((i, k) => this.build(i, t.members![k]));
      case 'variant': {
        const inner = this.typeOf(n.inner, null);
        return { type: inner.str, value: this.build(n.inner, inner) } satisfies GVVariant;
      }
      case 'just': {
        const v = this.build(n.inner, t.elem!);
        return t.elem!.code === 'm' ? [v] : v;
      }
      case 'nothing': return null;
      case 'typed': return this.build(n.inner, t);
    }
  }

  number(text: string, t: GVType, at: number): GVValue {
    if (t.code === 'd') {
      const m = /^([+-]?)(inf|nan|[0-9]*\.?[0-9]*(?:e[+-]?[0-9]+)?)$/.exec(text);
      if (!m || !/[0-9]|inf|nan/.test(m[2])) this.p.fail(at, 'invalid character in number');
      if (m[2] === 'inf') return m[1] === '-' ? -Infinity : Infinity;
      if (m[2] === 'nan') return NaN;
      return Number(text);
    }
    const m = /^([+-]?)(0x[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
    if (!m) this.p.fail(at, 'invalid character in number');
    const digits = m[2];
    let v = digits.startsWith('0x')
      ? BigInt(digits)
      : digits.length > 1 && digits[0] === '0'
        ? BigInt('0o' + digits.slice(1))
        : BigInt(digits);
    if (m[1] === '-') v = -v;
    const [min, max] = INT_RANGE[t.code];
    if (v < min || v > max) this.p.fail(at, `number out of range for type '${t.code}'`);
    return t.code === 'x' || t.code === 't' ? v : Number(v);
  }
}

/** Parses GVariant text format (g_variant_parse); `type` constrains the result like its type argument. */
export function parseGVariantText(text: string, type?: string): GVVariant {
  if (typeof text !== 'string') throw new TypeError('GVariant text must be a string');
  const expected = type === undefined ? null : parseType(type);
  const p = new Parser(text);
  try {
    const node = p.value(0);
    p.ws();
    if (p.pos !== text.length) p.fail(p.pos, 'expected end of input');
    const inf = new Inference(p);
    const t = inf.typeOf(node, expected);
    return { type: t.str, value: inf.build(node, t) };
  } catch (e) {
    if (e instanceof TextError) throw new Error(e.message);
    throw e;
  }
}
