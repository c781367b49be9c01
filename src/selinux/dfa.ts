// Runs a compiled file_contexts regex (src/selinux/regex.ts) over a path as pcre2_match would
// answer "does it match": an unanchored search (a `^` in the pattern anchors it), `$` passing at
// the end or before a final newline, bytes as code units. The NFA is run as a DFA built lazily,
// one state per set of NFA states, with transitions cached per byte class: every path byte costs
// one table lookup once warm, and never more than one closure computation (linear time; no
// backtracking). A cap on cached states bounds memory; past it states are computed, not kept.

import { N_BOL, N_CHAR, N_EOL, N_MATCH, N_SPLIT, type Nfa } from './regex.ts';

/** Most DFA states cached per regex; more are still computed, just not kept. */
export const MAX_DFA_STATES = 512;

/** A cap on cached DFA states shared by the matchers of one database (bounds its memory). */
export interface StateBudget {
  left: number;
}

interface DState {
  /** Sorted member NFA nodes (N_CHAR, N_EOL, N_MATCH). */
  nodes: Int32Array;
  /** Next state index per byte class; -1 = not computed yet. */
  next: Int32Array;
  accept: boolean;
  dead: boolean;
  /** Whether `$` at the end of the subject (past position 0) completes a match; -1 = unknown. */
  acceptAtEnd: number;
  /** Whether every continuation from here matches (so the rest need not be read); -1 = unknown. */
  universal: number;
}

/** Most states explored when deciding that a state is universal. */
const MAX_UNIVERSAL_PROBE = 16;

export class RegexMatcher {
  private readonly nfa: Nfa;
  /** Byte → byte class (bytes every set treats alike share a class). */
  private readonly classOf: Uint8Array;
  private readonly classRep: number[];
  private readonly states: DState[] = [];
  private readonly index = new Map<string, number>();
  private readonly mark: Int32Array;
  private stamp = 0;
  private readonly stack: number[] = [];
  private startIdx = -1;
  /** The state after the literal prefix: -1 = not computed, -2 = not usable. */
  private prefixIdx = -1;
  /**
   * The state reached after the directory part (up to the last '/') of the last subject that got
   * that far: siblings looked up one after the other resume from it.
   */
  private memoDir = '';
  private memoState: DState | null = null;

  private readonly budget: StateBudget;

  constructor(nfa: Nfa, budget: StateBudget = { left: MAX_DFA_STATES }) {
    this.nfa = nfa;
    this.budget = budget;
    this.mark = new Int32Array(nfa.kind.length);
    // Byte classes: the signature of a byte is the list of sets containing it.
    this.classOf = new Uint8Array(256);
    this.classRep = [];
    const sigs = new Map<string, number>();
    for (let b = 0; b < 256; b++) {
      let sig = '';
      for (let s = 0; s < nfa.sets.length; s++) sig += nfa.sets[s]![b] ? '1' : '0';
      let c = sigs.get(sig);
      if (c === undefined) {
        c = this.classRep.length;
        this.classRep.push(b);
        sigs.set(sig, c);
      }
      this.classOf[b] = c;
    }
  }

  /**
   * Closure of `seeds` over epsilon edges; `^` passes only when atStart, `$` only when atEnd
   * (otherwise an N_EOL node stays a member, pending). Returns the sorted members.
   */
  private closure(seeds: ArrayLike<number>, atStart: boolean, atEnd: boolean): Int32Array {
    const { kind, out1, out2 } = this.nfa;
    const mark = this.mark;
    const st = ++this.stamp;
    const stack = this.stack;
    const members: number[] = [];
    for (let k = 0; k < seeds.length; k++) stack.push(seeds[k]!);
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n < 0 || mark[n] === st) continue;
      mark[n] = st;
      switch (kind[n]) {
        case N_CHAR:
        case N_MATCH:
          members.push(n);
          break;
        case N_SPLIT:
          stack.push(out2[n]!, out1[n]!);
          break;
        case N_BOL:
          if (atStart) stack.push(out1[n]!);
          break;
        case N_EOL:
          if (atEnd) stack.push(out1[n]!);
          else members.push(n);
          break;
        default: // N_EPS
          stack.push(out1[n]!);
      }
    }
    const arr = Int32Array.from(members);
    arr.sort();
    return arr;
  }

  private hasMatch(nodes: Int32Array): boolean {
    for (let k = 0; k < nodes.length; k++) if (this.nfa.kind[nodes[k]!] === N_MATCH) return true;
    return false;
  }

  /** The CHAR members' successors on byte `b`. */
  private successors(nodes: Int32Array, b: number): number[] {
    const { kind, out1, setOf, sets } = this.nfa;
    const seeds: number[] = [];
    for (let k = 0; k < nodes.length; k++) {
      const n = nodes[k]!;
      if (kind[n] === N_CHAR && sets[setOf[n]!]![b]) seeds.push(out1[n]!);
    }
    return seeds;
  }

  private intern(nodes: Int32Array): { idx: number; state: DState } {
    const key = nodes.join(',');
    const found = this.index.get(key);
    if (found !== undefined) return { idx: found, state: this.states[found]! };
    const state: DState = {
      nodes,
      next: new Int32Array(this.classRep.length).fill(-1),
      accept: this.hasMatch(nodes),
      dead: false,
      acceptAtEnd: -1,
      universal: -1,
    };
    state.dead = nodes.length === 0;
    if (this.states.length >= MAX_DFA_STATES || this.budget.left <= 0) return { idx: -1, state };
    this.budget.left--;
    this.states.push(state);
    this.index.set(key, this.states.length - 1);
    return { idx: this.states.length - 1, state };
  }

  private start(): DState {
    if (this.startIdx < 0) {
      const { idx, state } = this.intern(this.closure([this.nfa.start], true, false));
      if (idx < 0) return state;
      this.startIdx = idx;
    }
    return this.states[this.startIdx]!;
  }

  /** The state after consuming byte `b` (from a position past which `^` no longer passes). */
  private step(st: DState, b: number): DState {
    const cls = this.classOf[b]!;
    const cached = st.next[cls]!;
    if (cached >= 0) return this.states[cached]!;
    // Search semantics: a match may also start at the next position.
    const seeds = this.successors(st.nodes, b);
    seeds.push(this.nfa.start);
    const { idx, state } = this.intern(this.closure(seeds, false, false));
    if (idx >= 0) st.next[cls] = idx;
    return state;
  }

  private endAccepts(st: DState): boolean {
    if (st.acceptAtEnd < 0) st.acceptAtEnd = this.endCheck(st.nodes, 1, false) ? 1 : 0;
    return st.acceptAtEnd === 1;
  }

  /**
   * Whether every continuation from `st` (past position 0) matches: all states reachable from it
   * accept at the end. Probes a few states only; "no" when it cannot tell.
   */
  private isUniversal(st: DState): boolean {
    const seen = new Set<DState>([st]);
    const queue: DState[] = [st];
    while (queue.length > 0) {
      const q = queue.pop()!;
      if (q.dead || !(q.accept || this.endAccepts(q))) return false;
      for (let c = 0; c < this.classRep.length; c++) {
        const n = this.step(q, this.classRep[c]!);
        if (seen.has(n)) continue;
        if (seen.size >= MAX_UNIVERSAL_PROBE) return false;
        seen.add(n);
        queue.push(n);
      }
    }
    return true;
  }

  /** The state after the literal prefix every match begins with, or null. */
  private afterPrefix(): DState | null {
    if (this.prefixIdx === -2) return null;
    if (this.prefixIdx >= 0) return this.states[this.prefixIdx]!;
    const pre = this.nfa.literalPrefix;
    let st = this.start();
    for (let p = 0; p < pre.length && !st.accept && !st.dead; p++) st = this.step(st, pre.charCodeAt(p));
    const idx = st.accept || st.dead ? -1 : this.states.indexOf(st);
    this.prefixIdx = idx >= 0 ? idx : -2;
    return idx >= 0 ? st : null;
  }

  /** Whether the pattern matches `s`, a string of code units 0..255 (one per path byte). */
  matches(s: string): boolean {
    const len = s.length;
    let st = this.start();
    let p = 0;
    const pre = this.nfa.literalPrefix;
    // Every match begins with the literal prefix: start after it (when the final "\n" rule
    // cannot apply inside it).
    if (pre.length > 0 && len > pre.length) {
      if (!s.startsWith(pre)) return false;
      const after = this.afterPrefix();
      if (after) {
        st = after;
        p = pre.length;
      }
    }
    // The directory part is the same as last time: resume after it (it ends before len - 1, so the
    // final "\n" rule cannot apply inside it, and no early answer was reached inside it).
    const dirEnd = s.lastIndexOf('/') + 1;
    const memo = this.memoDir;
    if (memo.length > p && memo.length === dirEnd && dirEnd < len && this.memoState && s.startsWith(memo)) {
      st = this.memoState;
      p = dirEnd;
    }
    for (; p < len; p++) {
      if (st.accept) return true;
      const b = s.charCodeAt(p) & 0xff;
      if (b === 0x0a && p === len - 1 && this.endCheck(st.nodes, p, true)) return true;
      st = this.step(st, b);
      if (st.dead) return false;
      if (st.universal < 0) st.universal = this.isUniversal(st) ? 1 : 0;
      if (st.universal === 1) return true;
      if (p + 1 === dirEnd && dirEnd < len) {
        this.memoDir = s.slice(0, dirEnd);
        this.memoState = st;
      }
    }
    if (st.accept) return true;
    if (len === 0) return this.endCheck(st.nodes, 0, false);
    return this.endAccepts(st);
  }

  /**
   * Whether a match completes through `$` at position `p`: the end of the subject, or (with
   * `beforeNewline`) the final "\n", which the pattern may then still consume.
   */
  private endCheck(nodes: Int32Array, p: number, beforeNewline: boolean): boolean {
    const passed = this.closure(nodes, p === 0, true);
    if (this.hasMatch(passed)) return true;
    if (!beforeNewline) return false;
    return this.hasMatch(this.closure(this.successors(passed, 0x0a), false, true));
  }
}
