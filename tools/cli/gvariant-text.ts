// A small parser for GVariant text values given on the command line (`--add-metadata=KEY=VALUE`):
// quoted strings, booleans, numbers with optional type keywords, @TYPE annotations, arrays, tuples.

import type { GVValue, GVVariant } from '../../src/format/gvariant.ts';
import { UsageError } from './context.ts';

const KEYWORDS: Record<string, string> = {
  byte: 'y', int16: 'n', uint16: 'q', int32: 'i', uint32: 'u', int64: 'x', uint64: 't', double: 'd', handle: 'h',
};

class P {
  i = 0;
  constructor(readonly s: string) {}
  ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }
  fail(msg: string): never {
    throw new UsageError(`Failed to parse GVariant '${this.s}': ${msg}`);
  }
  value(hint?: string): { type: string; value: GVValue } {
    this.ws();
    const c = this.s[this.i];
    if (c === '@') {
      const m = /^@([^\s]+)\s*/.exec(this.s.slice(this.i));
      if (!m) this.fail('bad annotation');
      this.i += m[0].length;
      return this.value(m[1]);
    }
    const kw = /^(byte|int16|uint16|int32|uint32|int64|uint64|double|handle)\s+/.exec(this.s.slice(this.i));
    if (kw) {
      this.i += kw[0].length;
      return this.value(KEYWORDS[kw[1]!]);
    }
    if (c === "'" || c === '"') return { type: 's', value: this.str(c) };
    if (this.s.startsWith('true', this.i)) {
      this.i += 4;
      return { type: 'b', value: true };
    }
    if (this.s.startsWith('false', this.i)) {
      this.i += 5;
      return { type: 'b', value: false };
    }
    if (c === '[') {
      this.i++;
      const items: Array<{ type: string; value: GVValue }> = [];
      const elemHint = hint?.startsWith('a') ? hint.slice(1) : undefined;
      for (;;) {
        this.ws();
        if (this.s[this.i] === ']') {
          this.i++;
          break;
        }
        items.push(this.value(elemHint));
        this.ws();
        if (this.s[this.i] === ',') this.i++;
      }
      const et = elemHint ?? items[0]?.type;
      if (!et) this.fail('cannot infer the type of an empty array; annotate it with @TYPE');
      if (et === 'y') return { type: 'ay', value: Uint8Array.from(items.map((x) => x.value as number)) };
      return { type: 'a' + et, value: items.map((x) => x.value) };
    }
    if (c === '(') {
      this.i++;
      const items: Array<{ type: string; value: GVValue }> = [];
      for (;;) {
        this.ws();
        if (this.s[this.i] === ')') {
          this.i++;
          break;
        }
        items.push(this.value());
        this.ws();
        if (this.s[this.i] === ',') this.i++;
      }
      return { type: '(' + items.map((x) => x.type).join('') + ')', value: items.map((x) => x.value) };
    }
    if (c === '<') {
      this.i++;
      const inner = this.value();
      this.ws();
      if (this.s[this.i] !== '>') this.fail("expected '>'");
      this.i++;
      return { type: 'v', value: { type: inner.type, value: inner.value } as GVVariant };
    }
    const num = /^-?(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][-+]?\d+)?)/.exec(this.s.slice(this.i));
    if (num) {
      this.i += num[0].length;
      const t = hint ?? (num[2] || num[3] ? 'd' : 'i');
      if (t === 'x' || t === 't') return { type: t, value: BigInt(num[0]) };
      return { type: t, value: Number(num[0]) };
    }
    if (hint === 's' || hint === undefined) {
      // GLib also accepts a bare word only in some contexts; treat as an error like g_variant_parse.
    }
    return this.fail(`unexpected '${c ?? 'end'}'`);
  }
  str(q: string): string {
    this.i++;
    let out = '';
    while (this.i < this.s.length && this.s[this.i] !== q) {
      const ch = this.s[this.i]!;
      if (ch === '\\') {
        const n = this.s[++this.i]!;
        out += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n;
      } else out += ch;
      this.i++;
    }
    if (this.s[this.i] !== q) this.fail('unterminated string');
    this.i++;
    return out;
  }
}

/** Parses GVariant text into a typed variant value. */
export function parseGVariantText(text: string): GVVariant {
  const p = new P(text);
  const v = p.value();
  p.ws();
  if (p.i !== text.length) p.fail('trailing characters');
  return { type: v.type, value: v.value };
}
