// Looking up a path's security context in a file labelling database, with the semantics of
// libselinux 3.4's selabel_lookup_raw for SELABEL_CTX_FILE (label_file.c lookup_all):
//  - the key is cleaned (runs of '/' collapsed, one trailing '/' dropped), then aliased by the
//    `.subs` list and the result by `.subs_dist` (first matching entry of each, whole components);
//  - specs are ordered file_contexts, .homedirs, .local, then those whose regex has no
//    meta-character moved behind the others (order kept in both groups); the LAST spec that
//    matches wins (so exact paths beat patterns, later lines beat earlier ones);
//  - a spec is tried only if its file type filter allows the mode (mode 0 = any) and its "stem"
//    (the regex text up to its second '/', when that text holds no meta-character) equals the
//    key's (the key up to its second '/'), or it has none — a pruning libselinux applies even
//    where the regex alone would match, and which is reproduced here exactly;
//  - a winning `<<none>>` means "no label" (ENOENT), like no match at all.
// For speed each spec is also indexed by the literal bytes its match must begin with, so a lookup
// walks a trie along the key and tries only specs whose literal prefix the key has.

import { XylemError } from '../util/errors.ts';
import { RegexMatcher, type StateBudget } from './dfa.ts';
import { S_IFMT, type FileContextSpec, type PathSubstitution } from './file-contexts.ts';

const META = '.^$?*+|[({';

/** Most specs one database holds (Fedora's policy has ~7k). */
export const MAX_SPECS = 100_000;
/** Most DFA states the matchers of one database keep, all regexes together (~1 KiB each at most). */
export const MAX_CACHED_STATES = 200_000;

/** libselinux's get_stem_from_spec: text before the second '/', if it holds no meta-character. */
function specStem(regex: string): string {
  const slash = regex.indexOf('/', 1);
  if (slash < 0) return '';
  for (let k = 0; k < slash; k++) if (META.includes(regex[k]!)) return '';
  return regex.slice(0, slash);
}

/** libselinux's spec_hasMetaChars (a backslash hides the next character). */
function hasMetaChars(regex: string): boolean {
  for (let k = 0; k < regex.length; k++) {
    const c = regex[k]!;
    if (c === '\\') k++;
    else if (META.includes(c)) return true;
  }
  return false;
}

/** The raw bytes of a path as a string of code units 0..255 (UTF-8 encoded when not ASCII). */
export function pathKey(path: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(path)) return path;
  const bytes = new TextEncoder().encode(path);
  let s = '';
  for (let k = 0; k < bytes.length; k += 8192) s += String.fromCharCode(...bytes.subarray(k, k + 8192));
  return s;
}

function substitute(subs: readonly PathSubstitution[], key: string): string | null {
  for (const s of subs) {
    if (!key.startsWith(s.src)) continue;
    const next = key.charCodeAt(s.src.length);
    if (key.length === s.src.length || next === 0x2f) {
      const cut = next === 0x2f && s.dst === '/' ? s.src.length + 1 : s.src.length;
      return s.dst + key.slice(cut);
    }
  }
  return null;
}

export interface FileContextsInput {
  /** Specs of file_contexts, then .homedirs, then .local, in file order. */
  specs: FileContextSpec[];
  /** Entries of file_contexts.subs, in lookup order (parseSubstitutions). */
  subs?: PathSubstitution[];
  /** Entries of file_contexts.subs_dist, in lookup order. */
  distSubs?: PathSubstitution[];
}

/** A loaded file labelling database; `lookup` is the hot path. */
export class FileContexts {
  private readonly specs: FileContextSpec[];
  private readonly modes: Int32Array;
  /** Stem id per spec; 0 = none. */
  private readonly stemOf: Int32Array;
  private readonly stemIds = new Map<string, number>();
  private readonly matchers: Array<RegexMatcher | undefined>;
  private readonly subs: readonly PathSubstitution[];
  private readonly distSubs: readonly PathSubstitution[];
  /** Literal-prefix trie: (node * 256 + byte) → child node; node 0 is the root. */
  private readonly trie = new Map<number, number>();
  /** Specs (ascending order) whose literal prefix ends at a trie node. */
  private readonly atNode = new Map<number, Int32Array>();
  private readonly scratch: Int32Array;
  private readonly budget: StateBudget = { left: MAX_CACHED_STATES };
  /** The previous lookup's trie walk, resumed by the next key sharing its beginning. */
  private lastKey = '';
  private walkNode: Int32Array = new Int32Array(256);
  private walkCount: Int32Array = new Int32Array(256);
  private walkDepth = 0;

  constructor(input: FileContextsInput) {
    if (!input || !Array.isArray(input.specs)) throw new TypeError('FileContexts: { specs } required');
    if (input.specs.length > MAX_SPECS) throw new XylemError(`SELinux file contexts: more than ${MAX_SPECS} specs`, 'EFBIG');
    // sort_specs: patterns first, then exact names, each group in file order.
    const withMeta: FileContextSpec[] = [];
    const exact: FileContextSpec[] = [];
    for (const s of input.specs) (hasMetaChars(s.regex) ? withMeta : exact).push(s);
    this.specs = withMeta.concat(exact);
    const n = this.specs.length;
    this.modes = new Int32Array(n);
    this.stemOf = new Int32Array(n);
    this.matchers = new Array<RegexMatcher | undefined>(n);
    this.scratch = new Int32Array(n);
    const lists = new Map<number, number[]>();
    let nodes = 1;
    for (let i = 0; i < n; i++) {
      const s = this.specs[i]!;
      this.modes[i] = s.mode & S_IFMT;
      const stem = specStem(s.regex);
      if (stem) {
        let id = this.stemIds.get(stem);
        if (id === undefined) this.stemIds.set(stem, (id = this.stemIds.size + 1));
        this.stemOf[i] = id;
      }
      let node = 0;
      const prefix = s.nfa.literalPrefix;
      for (let k = 0; k < prefix.length; k++) {
        const key = node * 256 + prefix.charCodeAt(k);
        let child = this.trie.get(key);
        if (child === undefined) this.trie.set(key, (child = nodes++));
        node = child;
      }
      let l = lists.get(node);
      if (!l) lists.set(node, (l = []));
      l.push(i);
    }
    for (const [node, l] of lists) this.atNode.set(node, Int32Array.from(l));
    this.subs = input.subs ?? [];
    this.distSubs = input.distSubs ?? [];
  }

  /** Number of specs loaded. */
  get size(): number {
    return this.specs.length;
  }

  /**
   * The context for `path` (as selabel_lookup_raw gives it) for a file of type `mode` (its
   * S_IFMT bits are used; 0 matches specs of any type), or null when there is none or the
   * winning spec says `<<none>>`.
   */
  lookup(path: string, mode: number): string | null {
    const spec = this.lookupSpec(path, mode);
    return spec === null || spec.context === '<<none>>' ? null : spec.context;
  }

  /** The winning spec for `path` (including a `<<none>>` one), or null. */
  lookupSpec(path: string, mode: number): FileContextSpec | null {
    if (typeof path !== 'string') throw new TypeError('FileContexts.lookup: path must be a string');
    if (!Number.isInteger(mode)) throw new TypeError('FileContexts.lookup: mode must be an integer');
    let key = pathKey(path);
    if (key.includes('//')) key = key.replace(/\/{2,}/g, '/');
    if (key.length === 0) throw new XylemError('SELinux label lookup: empty path', 'EINVAL');
    if (key.length > 1 && key.endsWith('/')) key = key.slice(0, -1);
    const aliased = substitute(this.subs, key);
    if (aliased !== null) key = substitute(this.distSubs, aliased) ?? aliased;
    else key = substitute(this.distSubs, key) ?? key;

    const slash = key.indexOf('/', 1);
    const fileStem = slash < 0 ? 0 : (this.stemIds.get(key.slice(0, slash)) ?? -1);
    const type = mode & S_IFMT;

    const count = this.candidates(key);
    const sorted = this.scratch.slice(0, count).sort();
    for (let j = count - 1; j >= 0; j--) {
      const i = sorted[j]!;
      const stem = this.stemOf[i]!;
      if (stem !== 0 && stem !== fileStem) continue;
      const m = this.modes[i]!;
      if (type !== 0 && m !== 0 && m !== type) continue;
      let matcher = this.matchers[i];
      if (!matcher) this.matchers[i] = matcher = new RegexMatcher(this.specs[i]!.nfa, this.budget);
      if (matcher.matches(key)) return this.specs[i]!;
    }
    return null;
  }

  /**
   * Collects into `scratch` the specs whose literal prefix begins `key` (walking the trie along
   * it); returns how many. Walks in a tree's order share their beginning, so the walk resumes
   * from where the previous key's walk and this key part.
   */
  private candidates(key: string): number {
    const prev = this.lastKey;
    let k = 0;
    const limit = Math.min(prev.length, key.length, this.walkDepth);
    while (k < limit && prev.charCodeAt(k) === key.charCodeAt(k)) k++;
    // Depth k: the trie node reached after k bytes, and the candidates collected before it.
    let node = k === 0 ? 0 : this.walkNode[k]!;
    let count = k === 0 ? 0 : this.walkCount[k]!;
    const cand = this.scratch;
    if (this.walkNode.length <= key.length + 1) {
      const size = Math.max(key.length + 2, this.walkNode.length * 2);
      const wn = new Int32Array(size);
      wn.set(this.walkNode);
      const wc = new Int32Array(size);
      wc.set(this.walkCount);
      this.walkNode = wn;
      this.walkCount = wc;
    }
    for (;;) {
      this.walkNode[k] = node;
      this.walkCount[k] = count;
      const here = this.atNode.get(node);
      if (here) for (let j = 0; j < here.length; j++) cand[count++] = here[j]!;
      if (k >= key.length) break;
      const child = this.trie.get(node * 256 + key.charCodeAt(k));
      if (child === undefined) break;
      node = child;
      k++;
    }
    this.lastKey = key;
    this.walkDepth = k;
    return count;
  }
}
