// The regular expressions of file_contexts, compiled as libselinux 3.4 compiles them: the spec is
// anchored by plain concatenation (`^` + spec + `$`, so a top-level `a|b` becomes `^a|b$`) and
// handed to PCRE2 with PCRE2_DOTALL, 8-bit code units, no UTF. This module parses that PCRE subset
// (everything refpolicy and Fedora's policy use, and the rest of PCRE's plain syntax: classes with
// POSIX names, \d \w \s, counted repeats, lazy quantifiers) into a Thompson NFA over bytes, which
// src/selinux/dfa.ts runs as a lazily built DFA: matching is linear in the path's length whatever
// the pattern, so no pattern can backtrack catastrophically. Constructs whose meaning needs a
// backtracking engine (back-references, look-around, possessive quantifiers, inline options) are
// refused with a message, as are patterns too large to compile (caps below).

/** Longest spec regex accepted (libselinux has no limit; PATH_MAX-sized patterns are already absurd). */
export const MAX_REGEX_LENGTH = 4096;
/** Largest count in a `{n,m}` quantifier (PCRE2 allows 65535; file_contexts never needs more than a few). */
export const MAX_REPEAT = 255;
/** Most NFA nodes one regex may compile to (counted repeats are expanded). */
export const MAX_NFA_NODES = 20000;

/** NFA node kinds. */
export const N_CHAR = 0; // consumes one byte in sets[setOf[i]], then out1
export const N_SPLIT = 1; // epsilon to out1 and out2
export const N_BOL = 2; // passes only at position 0
export const N_EOL = 3; // passes at the end, or before a final "\n" (PCRE's $ without DOLLAR_ENDONLY)
export const N_MATCH = 4;
export const N_EPS = 5; // epsilon to out1

/** A compiled pattern: flat arrays, one entry per node. */
export interface Nfa {
  kind: Uint8Array;
  out1: Int32Array;
  out2: Int32Array;
  /** For N_CHAR nodes: the index of the node's byte set in `sets`. */
  setOf: Int32Array;
  /** Byte sets, 256 entries of 0/1 each. */
  sets: Uint8Array[];
  start: number;
  /**
   * The bytes every match must start with at position 0, when the pattern is a top-level
   * concatenation beginning with `^` (latin1 string; '' when unknown). Lets the matcher index specs.
   */
  literalPrefix: string;
}

/** Thrown for a pattern this module cannot or will not compile; `message` says why and where. */
export class RegexError extends Error {}

type Node =
  | { t: 'set'; set: Uint8Array }
  | { t: 'cat'; items: Node[] }
  | { t: 'alt'; alts: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number }
  | { t: 'bol' }
  | { t: 'eol' };

function byteSet(...ranges: Array<[number, number]>): Uint8Array {
  const s = new Uint8Array(256);
  for (const [a, b] of ranges) for (let c = a; c <= b; c++) s[c] = 1;
  return s;
}

/** Shared single-byte sets and the any-byte set (never mutated). */
const SINGLE: Uint8Array[] = Array.from({ length: 256 }, (_, c) => byteSet([c, c]));
const ANY = byteSet([0, 255]);

const DIGIT = byteSet([0x30, 0x39]);
const WORD = byteSet([0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a], [0x5f, 0x5f]);
// PCRE2's default (C locale) tables: \s is HT, LF, VT, FF, CR and space.
const SPACE = byteSet([0x09, 0x0d], [0x20, 0x20]);

function invert(s: Uint8Array): Uint8Array {
  const o = new Uint8Array(256);
  for (let i = 0; i < 256; i++) o[i] = s[i] ? 0 : 1;
  return o;
}

/** POSIX classes inside brackets, in the C locale PCRE2's built-in tables describe. */
const POSIX: Record<string, Uint8Array> = {
  alpha: byteSet([0x41, 0x5a], [0x61, 0x7a]),
  digit: DIGIT,
  alnum: byteSet([0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]),
  upper: byteSet([0x41, 0x5a]),
  lower: byteSet([0x61, 0x7a]),
  space: SPACE,
  blank: byteSet([0x09, 0x09], [0x20, 0x20]),
  punct: byteSet([0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]),
  print: byteSet([0x20, 0x7e]),
  graph: byteSet([0x21, 0x7e]),
  cntrl: byteSet([0x00, 0x1f], [0x7f, 0x7f]),
  xdigit: byteSet([0x30, 0x39], [0x41, 0x46], [0x61, 0x66]),
  word: WORD,
  ascii: byteSet([0x00, 0x7f]),
};

const SIMPLE_ESCAPES: Record<string, number> = { n: 0x0a, t: 0x09, r: 0x0d, f: 0x0c, e: 0x1b, a: 0x07 };

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isAlnum = (c: string): boolean => /^[A-Za-z0-9]$/.test(c);
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9A-Fa-f]$/.test(c);

/** Recursive-descent parser for the PCRE subset; positions in errors are 0-based offsets into the spec. */
class Parser {
  private i = 0;
  private depth = 0;
  /** Capturing groups opened so far (decides whether \NN is a back-reference or octal). */
  private groups = 0;
  constructor(private readonly src: string) {}

  fail(msg: string, at = this.i): never {
    // Offsets count in the spec as written, without the '^' it is compiled behind.
    throw new RegexError(`${msg} at offset ${Math.max(0, at - 1)}`);
  }

  parse(): Node {
    const n = this.alt();
    if (this.i < this.src.length) this.fail('unmatched closing parenthesis');
    return n;
  }

  private alt(): Node {
    const alts: Node[] = [this.cat()];
    while (this.src[this.i] === '|') {
      this.i++;
      alts.push(this.cat());
    }
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }

  private cat(): Node {
    const items: Node[] = [];
    for (;;) {
      const c = this.src[this.i];
      if (c === undefined || c === '|' || c === ')') break;
      const at = this.i;
      const atom = this.atom();
      const q = this.quantifier();
      if (q) {
        if (atom.t === 'bol' || atom.t === 'eol') this.fail('quantifier does not follow a repeatable item', at);
        items.push({ t: 'rep', node: atom, min: q[0], max: q[1] });
      } else items.push(atom);
    }
    return items.length === 1 ? items[0]! : { t: 'cat', items };
  }

  /** A `{n}`, `{n,}` or `{n,m}` at the cursor, or null (PCRE then reads `{` as a literal). */
  private braces(): [number, number, number] | null {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i, this.i + 64));
    if (!m) return null;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
    if (min > 65535 || max > 65535) this.fail('number too big in {} quantifier');
    return [min, max, m[0].length];
  }

  private quantifier(): [number, number] | null {
    const c = this.src[this.i];
    let q: [number, number];
    const at = this.i;
    if (c === '*') q = [0, -1];
    else if (c === '+') q = [1, -1];
    else if (c === '?') q = [0, 1];
    else if (c === '{') {
      const b = this.braces();
      if (!b) return null;
      const [min, max, len] = b;
      if (min > MAX_REPEAT || max > MAX_REPEAT) this.fail(`repeat count above ${MAX_REPEAT}`);
      if (max !== -1 && max < min) this.fail('numbers out of order in {} quantifier');
      q = [min, max];
      this.i += len - 1;
    } else return null;
    this.i++;
    // A lazy quantifier matches the same strings (only the match boundaries differ).
    if (this.src[this.i] === '?') this.i++;
    else if (this.src[this.i] === '+') this.fail('possessive quantifiers are not supported');
    const n = this.src[this.i];
    if (n === '*' || n === '+' || n === '?' || (n === '{' && this.braces())) this.fail('quantifier does not follow a repeatable item', at + 1);
    return q;
  }

  private atom(): Node {
    const c = this.src[this.i]!;
    const at = this.i;
    switch (c) {
      case '(': {
        this.i++;
        if (this.src[this.i] === '?') {
          if (this.src[this.i + 1] !== ':') this.fail('(? groups other than (?: are not supported', at);
          this.i += 2;
        } else this.groups++;
        if (++this.depth > 200) this.fail('parentheses nested too deeply', at);
        const inner = this.alt();
        this.depth--;
        if (this.src[this.i] !== ')') this.fail('missing closing parenthesis', at);
        this.i++;
        return inner;
      }
      case '[':
        return { t: 'set', set: this.bracket() };
      case '.':
        this.i++;
        return { t: 'set', set: ANY };
      case '^':
        this.i++;
        return { t: 'bol' };
      case '$':
        this.i++;
        return { t: 'eol' };
      case '*':
      case '+':
      case '?':
        return this.fail('quantifier does not follow a repeatable item');
      case '{':
        if (this.braces()) this.fail('quantifier does not follow a repeatable item');
        this.i++;
        return { t: 'set', set: SINGLE[0x7b]! };
      case '\\': {
        const e = this.escape(false);
        return { t: 'set', set: typeof e === 'number' ? SINGLE[e]! : e };
      }
      default:
        this.i++;
        return { t: 'set', set: SINGLE[c.charCodeAt(0)]! };
    }
  }

  /** After a backslash: a byte, or a class (\d \w \s and negations). `\b` is backspace in a class. */
  private escape(inClass: boolean): number | Uint8Array {
    const at = this.i;
    this.i++;
    const c = this.src[this.i];
    if (c === undefined) this.fail('\\ at end of pattern', at);
    this.i++;
    if (!isAlnum(c)) return c.charCodeAt(0);
    const simple = SIMPLE_ESCAPES[c];
    if (simple !== undefined) return simple;
    switch (c) {
      case 'd':
        return DIGIT;
      case 'D':
        return invert(DIGIT);
      case 'w':
        return WORD;
      case 'W':
        return invert(WORD);
      case 's':
        return SPACE;
      case 'S':
        return invert(SPACE);
      case 'x': {
        if (this.src[this.i] === '{') {
          const m = /^\{([0-9A-Fa-f]+)\}/.exec(this.src.slice(this.i, this.i + 12));
          if (!m) this.fail('malformed \\x{...} escape', at);
          const v = parseInt(m[1]!, 16);
          if (v > 0xff) this.fail('character code point value in \\x{} is too large', at);
          this.i += m[0].length;
          return v;
        }
        let v = 0;
        for (let k = 0; k < 2 && isHex(this.src[this.i]); k++) v = v * 16 + parseInt(this.src[this.i++]!, 16);
        return v;
      }
      case '0': {
        let v = 0;
        for (let k = 0; k < 2 && /^[0-7]$/.test(this.src[this.i] ?? ''); k++) v = v * 8 + Number(this.src[this.i++]);
        return v;
      }
      case 'b':
        if (inClass) return 0x08;
        return this.fail('\\b (word boundary) is not supported', at);
      default: {
        if (!isDigit(c)) return this.fail(`unsupported escape \\${c}`, at);
        // PCRE2: \N is a back-reference when N < 10, starts with 8 or 9, or names an earlier
        // group; otherwise (and always in a class) up to three octal digits.
        const digits = /^\d*/.exec(this.src.slice(this.i))![0];
        const num = Number(c + digits);
        if (!inClass && (num < 10 || c === '8' || c === '9' || num <= this.groups)) return this.fail('back-references are not supported', at);
        if (c === '8' || c === '9') return this.fail(`unsupported escape \\${c}`, at);
        let v = Number(c);
        for (let k = 0; k < 2 && /^[0-7]$/.test(this.src[this.i] ?? ''); k++) v = v * 8 + Number(this.src[this.i++]);
        if (v > 0xff) this.fail('octal value is greater than \\377 in 8-bit non-UTF mode', at);
        return v;
      }
    }
  }

  /** A bracket expression at the cursor (on its '['), as PCRE2 reads one. */
  private bracket(): Uint8Array {
    const start = this.i;
    if (/^\[:[^\]]*:\]/.test(this.src.slice(this.i))) this.fail('POSIX named classes are supported only within a class');
    this.i++;
    let negate = false;
    if (this.src[this.i] === '^') {
      negate = true;
      this.i++;
    }
    const set = new Uint8Array(256);
    let first = true;
    for (;;) {
      const c = this.src[this.i];
      if (c === undefined) this.fail('missing terminating ] for character class', start);
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      if (c === '[' && (this.src[this.i + 1] === ':' || this.src[this.i + 1] === '.' || this.src[this.i + 1] === '=')) {
        const m = /^\[([:.=])(\^?)([A-Za-z]*)\1\]/.exec(this.src.slice(this.i));
        if (m) {
          if (m[1] !== ':') this.fail('POSIX collating elements are not supported');
          const cls = POSIX[m[3]!];
          if (!cls) this.fail(`unknown POSIX class name ${m[3]}`);
          const s = m[2] ? invert(cls) : cls;
          for (let k = 0; k < 256; k++) if (s[k]) set[k] = 1;
          this.i += m[0].length;
          continue;
        }
      }
      let lo: number;
      const itemAt = this.i;
      if (c === '\\') {
        const e = this.escape(true);
        if (typeof e !== 'number') {
          for (let k = 0; k < 256; k++) if (e[k]) set[k] = 1;
          if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.src[this.i + 1] !== undefined)
            this.fail('invalid range in character class', itemAt);
          continue;
        }
        lo = e;
      } else {
        lo = c.charCodeAt(0);
        this.i++;
      }
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.src[this.i + 1] !== undefined) {
        this.i++;
        let hi: number;
        const h = this.src[this.i]!;
        if (h === '[' && /^\[[:.=]/.test(this.src.slice(this.i))) this.fail('invalid range in character class', itemAt);
        if (h === '\\') {
          const e = this.escape(true);
          if (typeof e !== 'number') this.fail('invalid range in character class', itemAt);
          hi = e;
        } else {
          hi = h.charCodeAt(0);
          this.i++;
        }
        if (hi < lo) this.fail('range out of order in character class', itemAt);
        for (let k = lo; k <= hi; k++) set[k] = 1;
      } else set[lo] = 1;
    }
    return negate ? invert(set) : set;
  }
}

/** Content keys of byte sets, computed once per set object. */
const setKeys = new WeakMap<Uint8Array, string>();

/** Builds a Thompson NFA from the parse tree (node 0 is MATCH). */
class Builder {
  kind: number[] = [N_MATCH];
  out1: number[] = [-1];
  out2: number[] = [-1];
  setOf: number[] = [-1];
  sets: Uint8Array[] = [];
  private setIds = new Map<string, number>();

  private add(k: number, o1: number, o2 = -1, set = -1): number {
    if (this.kind.length >= MAX_NFA_NODES) throw new RegexError(`pattern too large (more than ${MAX_NFA_NODES} NFA states)`);
    this.kind.push(k);
    this.out1.push(o1);
    this.out2.push(o2);
    this.setOf.push(set);
    return this.kind.length - 1;
  }

  private setId(s: Uint8Array): number {
    let key = setKeys.get(s);
    if (key === undefined) {
      key = '';
      for (let k = 0; k < 256; k += 16) {
        let w = 0;
        for (let j = 0; j < 16; j++) w = (w << 1) | s[k + j]!;
        key += String.fromCharCode(w);
      }
      setKeys.set(s, key);
    }
    let id = this.setIds.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(s);
      this.setIds.set(key, id);
    }
    return id;
  }

  /** Emits `n` so that it continues to `next`; returns its entry node. */
  emit(n: Node, next: number): number {
    switch (n.t) {
      case 'set':
        return this.add(N_CHAR, next, -1, this.setId(n.set));
      case 'bol':
        return this.add(N_BOL, next);
      case 'eol':
        return this.add(N_EOL, next);
      case 'cat': {
        let e = next;
        for (let k = n.items.length - 1; k >= 0; k--) e = this.emit(n.items[k]!, e);
        return e === next && n.items.length === 0 ? this.add(N_EPS, next) : e;
      }
      case 'alt': {
        let e = this.emit(n.alts[n.alts.length - 1]!, next);
        for (let k = n.alts.length - 2; k >= 0; k--) e = this.add(N_SPLIT, this.emit(n.alts[k]!, next), e);
        return e;
      }
      case 'rep': {
        let e = next;
        if (n.max === -1) {
          // x* : a loop node splitting into x (which returns to it) or next.
          const loop = this.add(N_SPLIT, -1, next);
          this.out1[loop] = this.emit(n.node, loop);
          e = loop;
        } else {
          // Optional copies nest: x{0,2} = (x(x)?)?
          for (let k = n.max - n.min; k > 0; k--) {
            const body = this.emit(n.node, e);
            e = this.add(N_SPLIT, body, next);
          }
        }
        for (let k = 0; k < n.min; k++) e = this.emit(n.node, e);
        return e;
      }
    }
  }
}

/** Parses and compiles the anchored pattern `^spec$` as libselinux does. */
export function compileSpecRegex(spec: string): Nfa {
  if (spec.length > MAX_REGEX_LENGTH) throw new RegexError(`regex longer than ${MAX_REGEX_LENGTH} characters`);
  for (let k = 0; k < spec.length; k++) {
    const code = spec.charCodeAt(k);
    if (code === 0 || code > 0x7f) throw new RegexError(`non-ASCII or NUL character at offset ${k}`);
  }
  const tree = new Parser('^' + spec + '$').parse();
  const b = new Builder();
  const start = b.emit(tree, 0);
  return {
    kind: Uint8Array.from(b.kind),
    out1: Int32Array.from(b.out1),
    out2: Int32Array.from(b.out2),
    setOf: Int32Array.from(b.setOf),
    sets: b.sets,
    start,
    literalPrefix: literalPrefix(tree),
  };
}

function literalPrefix(tree: Node): string {
  if (tree.t !== 'cat' || tree.items[0]?.t !== 'bol') return '';
  let out = '';
  for (let k = 1; k < tree.items.length; k++) {
    const it = tree.items[k]!;
    if (it.t !== 'set') break;
    let only = -1;
    let count = 0;
    for (let c = 0; c < 256 && count < 2; c++) if (it.set[c]) (only = c), count++;
    if (count !== 1) break;
    out += String.fromCharCode(only);
  }
  return out;
}
