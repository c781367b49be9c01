// A small CDCL SAT engine for the dependency solver: two watched literals, first-UIP clause
// learning with non-chronological backjumping, Luby restarts. Decisions are not made here: the
// caller supplies them (libsolv's idea: the policy — jobs first, keep installed packages, then the
// best provider of each unsatisfied requirement — picks literals, the engine propagates and learns).
// Every learned clause remembers the clauses it was derived from, so an unsatisfiable request can
// be traced back to the original rules, as libsolv's analyze_unsolvable does for its problem reports.

import { XylemError } from '../util/errors.ts';

/** Literal of variable v (1-based): positive 2v, negative 2v+1. */
export function posLit(v: number): number {
  return v << 1;
}
export function negLit(v: number): number {
  return (v << 1) | 1;
}
export function litVar(l: number): number {
  return l >>> 1;
}
export function litNeg(l: number): boolean {
  return (l & 1) === 1;
}

export type DecideFn = () => number; // a literal to assign true, or 0 when done

export class Sat {
  readonly nVars: number;
  private lits: Int32Array = new Int32Array(1024);
  private litsLen = 0;
  private cStart: Int32Array = new Int32Array(256);
  private cLen: Int32Array = new Int32Array(256);
  /** For original clauses the caller's rule id (≥ 0); learned clauses: -1 - index into learnedWhy. */
  private cOrigin: Int32Array = new Int32Array(256);
  private pendingWatch: number[] = [];
  private nClauses = 0;
  readonly learnedWhy: Int32Array[] = [];
  /** libsolv-style watch lists: per literal a linked list of (clause, slot), newest first. */
  private head: Int32Array;
  private wNext: Int32Array = new Int32Array(512);
  private wLit: Int32Array = new Int32Array(512);
  /** 0 unassigned, 1 true, -1 false (per variable). */
  readonly value: Int8Array;
  readonly level: Int32Array;
  private reason: Int32Array;
  readonly trail: Int32Array;
  trailLen = 0;
  private qhead = 0;
  private trailLim: number[] = [];
  private seen: Uint8Array;
  private pendingUnits: number[] = [];
  /** Set when a clause is empty or two units contradict at level 0. */
  private contradiction: number[] | null = null;
  conflicts = 0;
  decisions = 0;
  restarts = 0;
  propagations = 0;
  /** Called after every backtrack with the new decision level. */
  onBacktrack: ((level: number) => void) | null = null;

  constructor(nVars: number) {
    if (!Number.isInteger(nVars) || nVars < 0 || nVars > 50_000_000) throw new XylemError(`SAT: bad variable count ${nVars}`, 'EINVAL');
    this.nVars = nVars;
    this.head = new Int32Array(2 * nVars + 2).fill(-1);
    this.value = new Int8Array(nVars + 1);
    this.level = new Int32Array(nVars + 1);
    this.reason = new Int32Array(nVars + 1).fill(-1);
    this.trail = new Int32Array(nVars + 1);
    this.seen = new Uint8Array(nVars + 1);
  }

  get decisionLevel(): number {
    return this.trailLim.length;
  }

  /** Truth of a literal: 1 true, -1 false, 0 unassigned. */
  litValue(l: number): number {
    const v = this.value[l >>> 1]!;
    return l & 1 ? -v : v;
  }

  clauseCount(): number {
    return this.nClauses;
  }
  clauseLits(c: number): Int32Array {
    return this.lits.subarray(this.cStart[c]!, this.cStart[c]! + this.cLen[c]!);
  }
  clauseOrigin(c: number): number {
    return this.cOrigin[c]!;
  }

  private storeClause(lits: ArrayLike<number>, origin: number): number {
    const n = lits.length;
    if (this.litsLen + n > this.lits.length) {
      const bigger = new Int32Array(Math.max(this.lits.length * 2, this.litsLen + n));
      bigger.set(this.lits.subarray(0, this.litsLen));
      this.lits = bigger;
    }
    if (this.nClauses === this.cStart.length) {
      const grow = (a: Int32Array): Int32Array => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.cStart = grow(this.cStart);
      this.cLen = grow(this.cLen);
      this.cOrigin = grow(this.cOrigin);
      const grow2 = (a: Int32Array): Int32Array => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.wNext = grow2(this.wNext);
      this.wLit = grow2(this.wLit);
    }
    const c = this.nClauses++;
    this.cStart[c] = this.litsLen;
    this.cLen[c] = n;
    this.cOrigin[c] = origin;
    for (let i = 0; i < n; i++) this.lits[this.litsLen++] = lits[i]!;
    return c;
  }

  /**
   * Adds an original clause (before solving, at level 0) tagged with the caller's rule id.
   * Duplicate literals are removed; tautologies are dropped. Unit clauses are assigned in the
   * order they are added when solving starts (as libsolv decides its assertion rules first).
   */
  addClause(lits: ArrayLike<number>, rule: number): void {
    if (this.decisionLevel !== 0) throw new XylemError('SAT: clauses are added at level 0 only', 'EINVAL');
    const uniq: number[] = [];
    for (let i = 0; i < lits.length; i++) {
      const l = lits[i]!;
      const v = l >>> 1;
      if (v < 1 || v > this.nVars) throw new XylemError(`SAT: literal ${l} out of range`, 'EINVAL');
      if (uniq.includes(l ^ 1)) return; // tautology
      if (!uniq.includes(l)) uniq.push(l);
    }
    const c = this.storeClause(uniq, rule);
    if (uniq.length === 0) {
      if (!this.contradiction) this.contradiction = [c];
      return;
    }
    if (uniq.length === 1) {
      this.pendingUnits.push(c);
      return;
    }
    this.pendingWatch.push(c);
  }

  /** Watch slot w (0/1) of clause c: node id 2c+w. */
  private watch(c: number, w: number, lit: number): void {
    const node = 2 * c + w;
    this.wLit[node] = lit;
    this.wNext[node] = this.head[lit]!;
    this.head[lit] = node;
  }

  /** Original clauses watch their first two literals; lists end up in clause order (as libsolv's makewatches). */
  private makeWatches(): void {
    for (let i = this.pendingWatch.length - 1; i >= 0; i--) {
      const c = this.pendingWatch[i]!;
      const s = this.cStart[c]!;
      this.watch(c, 0, this.lits[s]!);
      this.watch(c, 1, this.lits[s + 1]!);
    }
    this.pendingWatch = [];
  }

  private enqueue(l: number, reason: number): void {
    const v = l >>> 1;
    this.value[v] = l & 1 ? -1 : 1;
    this.level[v] = this.trailLim.length;
    this.reason[v] = reason;
    this.trail[this.trailLen++] = l;
  }

  /**
   * Unit propagation in libsolv's order: the decision queue first in, first out; for each
   * falsified literal its watching clauses newest-watch first; a moved watch takes the first
   * literal (in the clause's own order) that is not false.
   */
  private propagate(): number {
    const lits = this.lits;
    while (this.qhead < this.trailLen) {
      const p = this.trail[this.qhead++]!;
      const falseLit = p ^ 1;
      this.propagations++;
      let prev = -1;
      let node = this.head[falseLit]!;
      while (node >= 0) {
        const next = this.wNext[node]!;
        const c = node >> 1;
        const other = this.wLit[node ^ 1]!;
        if (this.litValue(other) === 1) {
          prev = node;
          node = next;
          continue;
        }
        const s = this.cStart[c]!;
        const n = this.cLen[c]!;
        let moved = -1;
        for (let k = s; k < s + n; k++) {
          const lk = lits[k]!;
          if (lk === other || lk === falseLit) continue;
          if (this.litValue(lk) !== -1) {
            moved = lk;
            break;
          }
        }
        if (moved >= 0) {
          // unlink from this list, prepend to the new literal's list
          if (prev < 0) this.head[falseLit] = next;
          else this.wNext[prev] = next;
          this.wLit[node] = moved;
          this.wNext[node] = this.head[moved]!;
          this.head[moved] = node;
          node = next;
          continue;
        }
        if (this.litValue(other) === -1) return c;
        this.enqueue(other, c);
        prev = node;
        node = next;
      }
    }
    return -1;
  }

  private backtrack(level: number): void {
    if (this.trailLim.length <= level) return;
    const lim = this.trailLim[level]!;
    for (let i = this.trailLen - 1; i >= lim; i--) {
      const v = this.trail[i]! >>> 1;
      this.value[v] = 0;
      this.reason[v] = -1;
    }
    this.trailLen = lim;
    this.qhead = lim;
    this.trailLim.length = level;
    this.onBacktrack?.(level);
  }

  /** First-UIP analysis: learned clause (asserting literal first), backjump level, clauses used. */
  private analyze(confl: number): { learnt: number[]; btLevel: number; why: number[] } {
    const learnt: number[] = [0];
    const why: number[] = [];
    const seen = this.seen;
    const touched: number[] = [];
    let pathC = 0;
    let p = -1;
    let idx = this.trailLen - 1;
    const curLevel = this.trailLim.length;
    let c = confl;
    for (;;) {
      why.push(c);
      const s = this.cStart[c]!;
      const n = this.cLen[c]!;
      for (let k = 0; k < n; k++) {
        const q = this.lits[s + k]!;
        if (q === p) continue;
        const v = q >>> 1;
        if (seen[v] || this.level[v] === 0) {
          if (!seen[v] && this.level[v] === 0) {
            // level-0 facts are part of the derivation too (their reasons explain them)
            seen[v] = 2;
            touched.push(v);
          }
          continue;
        }
        seen[v] = 1;
        touched.push(v);
        if (this.level[v] >= curLevel) pathC++;
        else learnt.push(q);
      }
      while (seen[this.trail[idx]! >>> 1] !== 1) idx--;
      p = this.trail[idx]!;
      idx--;
      seen[p >>> 1] = 0;
      pathC--;
      if (pathC <= 0) break;
      c = this.reason[p >>> 1]!;
    }
    learnt[0] = p ^ 1;
    // level-0 facts used: recorded as -(v+1); explain() follows their reasons transitively
    for (const v of touched) if (seen[v] === 2) why.push(-(v + 1));
    for (const v of touched) seen[v] = 0;
    let btLevel = 0;
    let maxI = 1;
    for (let k = 1; k < learnt.length; k++) {
      const lv = this.level[learnt[k]! >>> 1]!;
      if (lv > btLevel) {
        btLevel = lv;
        maxI = k;
      }
    }
    if (learnt.length > 1) {
      const t = learnt[1]!;
      learnt[1] = learnt[maxI]!;
      learnt[maxI] = t;
    }
    return { learnt, btLevel, why };
  }

  /**
   * At a level-0 conflict, the clauses behind it in libsolv's order: the conflicting clause, then
   * the reasons of the involved assignments from the newest backwards.
   */
  private finalWhy(confl: number): number[] {
    const out: number[] = [confl];
    const seen = this.seen;
    const mark = (c: number): void => {
      const s = this.cStart[c]!;
      for (let k = 0; k < this.cLen[c]!; k++) seen[this.lits[s + k]! >>> 1] = 1;
    };
    mark(confl);
    for (let i = this.trailLen - 1; i >= 0; i--) {
      const v = this.trail[i]! >>> 1;
      if (!seen[v]) continue;
      const r = this.reason[v]!;
      if (r >= 0) {
        out.push(r);
        mark(r);
      }
    }
    seen.fill(0);
    return out;
  }

  /** Expands clause ids into original rule ids (learned clauses recursively), first-seen order. */
  explain(clauses: number[]): number[] {
    const rules: number[] = [];
    const doneLearned = new Set<number>();
    const doneVar = new Set<number>();
    const visit = (c: number): void => {
      if (c < 0) {
        // a level-0 fact: its reason, and the reasons of that reason's other literals
        const v0 = -c - 1;
        if (doneVar.has(v0)) return;
        doneVar.add(v0);
        const r = this.reason[v0]!;
        if (r < 0) return;
        visit(r);
        const s = this.cStart[r]!;
        for (let k = 0; k < this.cLen[r]!; k++) {
          const u = this.lits[s + k]! >>> 1;
          if (u !== v0 && this.level[u] === 0 && this.value[u] !== 0) visit(-(u + 1));
        }
        return;
      }
      const o = this.cOrigin[c]!;
      if (o >= 0) {
        if (!rules.includes(o)) rules.push(o);
        return;
      }
      const k = -1 - o;
      if (doneLearned.has(k)) return;
      doneLearned.add(k);
      for (const d of this.learnedWhy[k]!) visit(d);
    };
    for (const c of clauses) visit(c);
    return rules;
  }

  /**
   * Solves. Returns null when satisfiable (read `value`), or the original rule ids behind the
   * contradiction. `maxConflicts` bounds the work (XylemError ESOLVELIMIT when exceeded).
   */
  solve(decide: DecideFn, maxConflicts = 2_000_000): number[] | null {
    if (this.contradiction) return this.explain(this.contradiction);
    this.makeWatches();
    // assertions first, in the order they were added
    for (const c of this.pendingUnits) {
      const l = this.lits[this.cStart[c]!]!;
      const val = this.litValue(l);
      if (val === 1) continue;
      if (val === -1) return this.explain([c, this.reason[l >>> 1]!]);
      this.enqueue(l, c);
    }
    let confl = this.propagate();
    if (confl >= 0) return this.explain(this.finalWhy(confl));
    let lubyIndex = 1;
    let restartBudget = 64 * luby(lubyIndex);
    let sinceRestart = 0;
    for (;;) {
      confl = this.propagate();
      if (confl >= 0) {
        this.conflicts++;
        sinceRestart++;
        if (this.conflicts > maxConflicts) throw new XylemError(`dependency solving gave up after ${maxConflicts} conflicts`, 'ESOLVELIMIT');
        if (this.trailLim.length === 0) return this.explain(this.finalWhy(confl));
        const { learnt, btLevel, why } = this.analyze(confl);
        this.backtrack(btLevel);
        const whyIndex = this.learnedWhy.length;
        this.learnedWhy.push(Int32Array.from(why));
        const c = this.storeClause(learnt, -1 - whyIndex);
        if (learnt.length >= 2) {
          this.watch(c, 0, learnt[0]!);
          this.watch(c, 1, learnt[1]!);
        }
        this.enqueue(learnt[0]!, c);
        continue;
      }
      if (sinceRestart >= restartBudget && this.trailLim.length > 0) {
        this.restarts++;
        sinceRestart = 0;
        restartBudget = 64 * luby(++lubyIndex);
        this.backtrack(0);
        continue;
      }
      const l = decide();
      if (l === 0) return null;
      if (this.litValue(l) !== 0) throw new XylemError('SAT: decision on an assigned literal', 'EINTERNAL');
      this.decisions++;
      this.trailLim.push(this.trailLen);
      this.enqueue(l, -1);
    }
  }
}

/** The Luby restart sequence 1 1 2 1 1 2 4 … (1-based). */
export function luby(i: number): number {
  for (let k = 1; ; k++) {
    if (i === (1 << k) - 1) return 1 << (k - 1);
    if (i < (1 << k) - 1) return luby(i - (1 << (k - 1)) + 1);
  }
}
