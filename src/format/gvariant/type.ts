// GVariant type strings: parsing and validation into a cached tree (GVType) that carries the
// serialisation facts the codec needs (alignment, fixed size, nesting depth).

/** Maximum nesting of types along one path, counting the leaf (GLib accepts e.g. 128×'a' + 'i'). */
export const MAX_TYPE_DEPTH = 129;
/** Maximum nesting of a value including types inside variants (GLib's G_VARIANT_MAX_RECURSION_DEPTH). */
export const MAX_VALUE_DEPTH = 128;

/** A parsed, definite GVariant type. */
export interface GVType {
  /** The complete type string, e.g. `a{sv}`. */
  readonly str: string;
  /** First character: one of `bynqiuxthdsogv` for leaves, `a` array, `m` maybe, `(` struct, `{` dict entry. */
  readonly code: string;
  /** Alignment in bytes: 1, 2, 4 or 8. */
  readonly align: number;
  /** Serialised size for fixed-size types; 0 for variable-size types. */
  readonly fixedSize: number;
  /** Element type of `a` and `m`; null otherwise. */
  readonly elem: GVType | null;
  /** Member types of `(` and `{`; null otherwise. */
  readonly members: readonly GVType[] | null;
  /** Nesting depth counting this node (a leaf has depth 1). */
  readonly depth: number;
}

const BASIC_FIXED: Record<string, [align: number, size: number]> = {
  y: [1, 1], b: [1, 1], n: [2, 2], q: [2, 2], i: [4, 4], u: [4, 4], h: [4, 4],
  x: [8, 8], t: [8, 8], d: [8, 8],
};
const BASIC_CODES = 'bynqiuxthdsog';

const cache = new Map<string, GVType>();
const CACHE_LIMIT = 4096;

function leaf(code: string): GVType {
  const fixed = BASIC_FIXED[code];
  if (fixed) return { str: code, code, align: fixed[0], fixedSize: fixed[1], elem: null, members: null, depth: 1 };
  // s o g: byte strings; v: alignment 8, variable size.
  return { str: code, code, align: code === 'v' ? 8 : 1, fixedSize: 0, elem: null, members: null, depth: 1 };
}

function alignUp(n: number, align: number): number {
  return (n + align - 1) & -align;
}

function makeStruct(str: string, code: string, members: GVType[]): GVType {
  let align = 1;
  let depth = 0;
  let offset = 0;
  let fixed = true;
  for (const m of members) {
    if (m.align > align) align = m.align;
    if (m.depth > depth) depth = m.depth;
    if (m.fixedSize === 0) fixed = false;
    else offset = alignUp(offset, m.align) + m.fixedSize;
  }
  let fixedSize = 0;
  if (fixed) {
    fixedSize = alignUp(offset, align);
    if (fixedSize === 0) fixedSize = 1; // the unit type () occupies one zero byte
  }
  return { str, code, align, fixedSize, elem: null, members, depth: depth + 1 };
}

class TypeScanner {
  pos = 0;
  constructor(readonly s: string) {}

  fail(what: string): never {
    throw new Error(`invalid GVariant type string '${this.s}': ${what} at position ${this.pos}`);
  }

  /** Scans one complete type starting at pos; `level` is this node's depth (root = 1). */
  scan(level: number): GVType {
    if (level > MAX_TYPE_DEPTH) this.fail('type nested too deeply');
    const s = this.s;
    const start = this.pos;
    if (start >= s.length) this.fail('unexpected end');
    const c = s[start];
    this.pos++;
    if (BASIC_CODES.includes(c) || c === 'v') return cachedLeaf(c);
    if (c === 'a' || c === 'm') {
      const elem = this.scan(level + 1);
      const str = s.slice(start, this.pos);
      return { str, code: c, align: elem.align, fixedSize: 0, elem, members: null, depth: elem.depth + 1 };
    }
    if (c === '(') {
      const members: GVType[] = [];
      while (true) {
        if (this.pos >= s.length) this.fail("missing ')'");
        if (s[this.pos] === ')') break;
        members.push(this.scan(level + 1));
      }
      this.pos++;
      return makeStruct(s.slice(start, this.pos), '(', members);
    }
    if (c === '{') {
      if (this.pos >= s.length || !BASIC_CODES.includes(s[this.pos])) this.fail('dict entry key must be a basic type');
      const key = this.scan(level + 1);
      const value = this.scan(level + 1);
      if (this.pos >= s.length || s[this.pos] !== '}') this.fail("expected '}'");
      this.pos++;
      return makeStruct(s.slice(start, this.pos), '{', [key, value]);
    }
    this.pos = start;
    if ('r*?'.includes(c)) this.fail(`indefinite type '${c}' not allowed`);
    this.fail(`unexpected character ${JSON.stringify(c)}`);
  }
}

const leaves = new Map<string, GVType>();
function cachedLeaf(c: string): GVType {
  let t = leaves.get(c);
  if (!t) leaves.set(c, (t = leaf(c)));
  return t;
}

/** Parses and validates a single complete definite type string. Results are cached. */
export function parseType(type: string): GVType {
  if (typeof type !== 'string') throw new TypeError('GVariant type must be a string');
  const hit = cache.get(type);
  if (hit) return hit;
  const scanner = new TypeScanner(type);
  const t = scanner.scan(1);
  if (scanner.pos !== type.length) scanner.fail('trailing characters after a complete type');
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(type, t);
  return t;
}

/** Scans one complete type starting at `pos` in `s` (e.g. after '@' in text format); returns it and its end. */
export function scanType(s: string, pos: number): { type: GVType; end: number } {
  const scanner = new TypeScanner(s);
  scanner.pos = pos;
  scanner.scan(1);
  return { type: parseType(s.slice(pos, scanner.pos)), end: scanner.pos };
}

/** True if `type` is a valid single definite type string. */
export function isValidType(type: string): boolean {
  try {
    parseType(type);
    return true;
  } catch {
    return false;
  }
}

/** True if `sig` is a D-Bus signature as GLib's g_variant_is_signature accepts (no maybes). */
export function isSignature(sig: string): boolean {
  if (/[^ybnqiuxthdvasog(){}]/.test(sig)) return false;
  const scanner = new TypeScanner(sig);
  try {
    while (scanner.pos < sig.length) scanner.scan(1);
  } catch {
    return false;
  }
  return true;
}

/** True if `path` is a D-Bus object path (g_variant_is_object_path). */
export function isObjectPath(path: string): boolean {
  return /^\/(?:[A-Za-z0-9_]+(?:\/[A-Za-z0-9_]+)*)?$/.test(path);
}
