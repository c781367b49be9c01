// The solver: rules (rules.ts) go into the CDCL engine (sat.ts); decisions follow libsolv's order
// and dnf's defaults — (1) each install job gets its best candidate, (2) installed packages are
// kept or, when asked, upgraded, (3) every requirement of an installed-to-be package without a
// provider gets the best provider (repo priority, highest EVR, best arch, then name), (4) weak
// dependencies: Recommends of new packages and packages whose Supplements now hold (decisions,
// never clauses, so they cannot make a request fail), (5) everything else stays out. A conflict
// is learned and the next decision takes the next-best candidate: dnf's best=False fallback to
// older versions. When the rules cannot all hold, the contradiction is traced back to rules and
// worded as dnf words it; each problem's job rules are then set aside to find the next problem.

import { XylemError } from '../util/errors.ts';
import type { Pool } from './pool.ts';
import { DepKind } from './pool.ts';
import { pickBest } from './policy.ts';
import { describeProblem, makeProblems } from './problems.ts';
import { isRich, evalRich, providerSet, richLeaves } from './rich.ts';
import { RuleKind, buildRules, richCnf } from './rules.ts';
import type { RuleSet } from './rules.ts';
import { Sat, litNeg, litVar, negLit, posLit } from './sat.ts';
import type { Job, ProblemRule, Problems, Reason, SolveOptions, Transaction, TransactionItem, UpgradeItem } from './types.ts';
import { compareEvrStrings } from './version.ts';

const JOB_OPS = new Set(['install', 'erase', 'upgrade', 'lock', 'exclude']);

function validateJobs(jobs: Job[]): void {
  if (!Array.isArray(jobs)) throw new XylemError('solve: jobs must be an array', 'EINVAL');
  if (jobs.length > 100_000) throw new XylemError('solve: more than 100000 jobs', 'ELIMIT');
  for (const j of jobs) {
    if (!j || !JOB_OPS.has(j.op)) throw new XylemError(`solve: unknown job ${JSON.stringify(j)}`, 'EINVAL');
    if (j.op !== 'upgrade' && (!j.what || typeof j.what !== 'object')) throw new XylemError(`solve: ${j.op} job needs a selector`, 'EINVAL');
  }
}

/** Solves `jobs` against `pool`: a transaction, or the problems in dnf's words. */
export function solve(pool: Pool, jobs: Job[], opts: SolveOptions = {}): Transaction | Problems {
  validateJobs(jobs);
  if (opts.arch !== undefined && (typeof opts.arch !== 'string' || opts.arch === '')) throw new XylemError('solve: arch must be a non-empty string', 'EINVAL');
  const disabled = new Set<number>();
  const problems: ProblemRule[][] = [];
  for (let round = 0; round < 64; round++) {
    const rs = buildRules(pool, jobs, opts, disabled);
    const sat = new Sat(rs.varPkg.length - 1);
    rs.rules.forEach((r, i) => sat.addClause(r.lits, i));
    const decider = new Decider(pool, rs, sat, opts);
    sat.onBacktrack = (level) => decider.backtracked(level);
    const core = sat.solve(() => decider.decide(), opts.maxConflicts ?? 2_000_000);
    if (core === null) {
      if (problems.length) return makeProblems(problems);
      return buildTransaction(pool, rs, sat, decider);
    }
    problems.push(describeProblem(pool, rs.rules, core, jobs));
    const jobIdx = core.map((id) => rs.rules[id]!).filter((r) => r.kind === RuleKind.JOB || r.kind === RuleKind.JOB_BEST || r.kind === RuleKind.JOB_NOTHING_PROVIDES).map((r) => r.dep);
    if (jobIdx.length === 0) break;
    // libsolv disables one job rule per problem and looks again: the last one it met
    disabled.add(jobIdx[jobIdx.length - 1]!);
  }
  return makeProblems(problems);
}

class Decider {
  private weakPos = 0;
  private instPos = 0;
  private freeVar = 1;
  private savedWeak: number[] = [0];
  readonly weakDecided = new Set<number>();
  private readonly installed: number[] = [];
  private readonly weak: boolean;
  private readonly richRecCache = new Map<number, number[][]>();

  constructor(
    private pool: Pool,
    private rs: RuleSet,
    private sat: Sat,
    opts: SolveOptions,
  ) {
    this.weak = opts.installWeakDeps !== false;
    const R = rs.requiresRules;
    const nv = rs.varPkg.length;
    this.occStart = new Int32Array(nv + 1);
    for (const r of R) for (const x of r.lits) if (litNeg(x)) this.occStart[litVar(x) + 1]!++;
    for (let v = 0; v < nv; v++) this.occStart[v + 1]! += this.occStart[v]!;
    this.occ = new Int32Array(this.occStart[nv]!);
    const fill = this.occStart.slice(0, nv);
    R.forEach((r, idx) => {
      for (const x of r.lits) if (litNeg(x)) this.occ[fill[litVar(x)]!++] = idx;
    });
    this.inHeap = new Uint8Array(R.length);
    for (let v = 1; v < rs.varPkg.length; v++) if (pool.isInstalled(rs.varPkg[v]!)) this.installed.push(rs.varPkg[v]!);
  }

  /** Per variable: the requires rules (indexes in rule order) holding its negative literal (CSR). */
  private occStart: Int32Array;
  private occ: Int32Array;
  private scanTrail = 0;
  private heap: number[] = [];
  private inHeap: Uint8Array;

  private pushRulesOf(v: number): void {
    for (let k = this.occStart[v]!; k < this.occStart[v + 1]!; k++) {
      const idx = this.occ[k]!;
      if (this.inHeap[idx]) continue;
      this.inHeap[idx] = 1;
      const h = this.heap;
      let i = h.length;
      h.push(idx);
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (h[parent]! <= idx) break;
        h[i] = h[parent]!;
        i = parent;
      }
      h[i] = idx;
    }
  }

  private heapPop(): void {
    const h = this.heap;
    this.inHeap[h[0]!] = 0;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const c = l + 1 < h.length && h[l + 1]! < h[l]! ? l + 1 : l;
      if (h[c]! >= last) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }

  /** The packages that could satisfy an unsatisfied rule, or null when it is satisfied. */
  private openProviders(lits: Int32Array): number[] | null {
    const sat = this.sat;
    const open: number[] = [];
    for (let k = 0; k < lits.length; k++) {
      const x = lits[k]!;
      const t = sat.litValue(x);
      if (t === 1) return null;
      if (t === 0) {
        // a condition still open (rich `if`): leaving it out satisfies the rule
        if (litNeg(x)) return null;
        open.push(this.rs.varPkg[litVar(x)]!);
      }
    }
    return open;
  }

  backtracked(level: number): void {
    // rules may be unsatisfied again: re-queue the rules of everything still installed
    for (const idx of this.heap) this.inHeap[idx] = 0;
    this.heap.length = 0;
    this.scanTrail = 0;
    this.weakPos = Math.min(this.weakPos, this.savedWeak[level + 1] ?? 0);
    this.instPos = 0;
    this.freeVar = 1;
  }

  private val(p: number): number {
    return this.sat.value[this.rs.pkgVar[p]!]!;
  }

  private choose(cands: number[], depEntry = -1): number {
    let open = cands.filter((p) => this.val(p) === 0 && this.rs.installable(p));
    if (open.length === 0) return -1;
    if (depEntry >= 0 && open.length > 1) {
      // libsolv prefers providers named like the dependency (a real `debconf` over a package
      // that only provides it), keeping repo priority first
      const names = this.depNames(depEntry);
      const topPrio = Math.min(...open.map((p) => this.pool.priority(p)));
      const named = open.filter((p) => this.pool.priority(p) === topPrio && names.includes(this.pool.name(p)));
      if (named.length) open = named;
    }
    return pickBest(this.pool, open, this.rs.scores);
  }

  private depNameCache = new Map<number, number[]>();
  private depNames(e: number): number[] {
    let hit = this.depNameCache.get(e);
    if (!hit) {
      const n = this.pool.depName(e);
      hit = isRich(this.pool.str(n)) ? richLeaves(this.pool.rich(n)).map((l) => this.pool.lookup(l.name)) : [n];
      this.depNameCache.set(e, hit);
    }
    return hit;
  }

  private mark(lit: number): number {
    const next = this.sat.decisionLevel + 1;
    this.savedWeak[next] = this.weakPos;
    return lit;
  }

  decide(): number {
    const sat = this.sat;
    const rs = this.rs;
    // (1) install jobs
    for (const cands of rs.jobCandidates) {
      if (cands.some((p) => this.val(p) === 1)) continue;
      const best = this.choose(cands);
      if (best >= 0) return this.mark(posLit(rs.pkgVar[best]!));
    }
    // (2) installed packages: upgrade when asked, else keep
    for (; this.instPos < this.installed.length; this.instPos++) {
      const q = this.installed[this.instPos]!;
      if (this.val(q) !== 0) continue;
      if (rs.eraseSet.has(q)) continue;
      const up = rs.upgradeCandidates.get(q);
      if (up) {
        const c = up.find((x) => this.val(x) === 0);
        if (c !== undefined) return this.mark(posLit(rs.pkgVar[c]!));
      }
      return this.mark(posLit(rs.pkgVar[q]!));
    }
    // (3) requirements of everything chosen, in rule order (libsolv's "deciding unresolved
    // rules" pass): the first rule in order that needs a decision. Only a package becoming
    // installed can make a rule need one (its own rules, or rules it conditions), so those rules
    // go into a min-heap of rule indexes; satisfied rules stay satisfied until a backtrack.
    {
      const R = rs.requiresRules;
      for (; this.scanTrail < sat.trailLen; this.scanTrail++) {
        const l = sat.trail[this.scanTrail]!;
        if (!litNeg(l)) this.pushRulesOf(litVar(l));
      }
      while (this.heap.length) {
        const idx = this.heap[0]!;
        const rule = R[idx]!;
        if (this.val(rule.p) === 1) {
          const open = this.openProviders(rule.lits);
          if (open !== null && open.length) {
            const best = this.choose(open, rule.dep);
            if (best >= 0) return this.mark(posLit(rs.pkgVar[best]!));
          }
        }
        this.heapPop();
      }
    }
    // (4) weak dependencies
    if (this.weak) {
      while (this.weakPos < sat.trailLen) {
        const l = sat.trail[this.weakPos]!;
        if (!litNeg(l)) {
          const p = rs.varPkg[litVar(l)]!;
          if (!this.pool.isInstalled(p)) {
            const d = this.recommendDecision(p);
            if (d >= 0) {
              this.weakDecided.add(d);
              return this.mark(posLit(rs.pkgVar[d]!));
            }
          }
        }
        this.weakPos++;
      }
      for (const s of rs.supplementers) {
        if (this.val(s) !== 0 || !rs.installable(s)) continue;
        if (this.supplementHolds(s)) {
          this.weakDecided.add(s);
          return this.mark(posLit(rs.pkgVar[s]!));
        }
      }
    }
    // (5) the rest stays out
    const n = sat.nVars;
    for (; this.freeVar <= n; this.freeVar++) if (sat.value[this.freeVar] === 0) return this.mark(negLit(this.freeVar++));
    return 0;
  }

  /** A provider to pull in for an unmet Recommends of p, or -1. */
  private recommendDecision(p: number): number {
    const pool = this.pool;
    const [s, e] = pool.depRange(p, DepKind.RECOMMENDS);
    for (let i = s; i < e; i++) {
      const n = pool.depName(i);
      if (isRich(pool.str(n))) {
        let cnf = this.richRecCache.get(i);
        if (!cnf) {
          const leafLits = (leaf: { name: string; flags: number; evr: string }): number[] =>
            Array.from(pool.whatProvidesDep(leaf.name, leaf.flags, leaf.evr)).filter((q) => this.rs.pkgVar[q] !== 0).map((q) => posLit(this.rs.pkgVar[q]!));
          cnf = richCnf(pool.rich(n), true, leafLits, (node) => providerSet(node, { providers: (leaf) => pool.whatProvidesDep(leaf.name, leaf.flags, leaf.evr) }).filter((q) => this.rs.pkgVar[q] !== 0).map((q) => posLit(this.rs.pkgVar[q]!)));
          this.richRecCache.set(i, cnf);
        }
        for (const clause of cnf) {
          if (clause.some((x) => this.sat.litValue(x) === 1)) continue;
          const open = clause.filter((x) => !litNeg(x) && this.sat.litValue(x) === 0).map((x) => this.rs.varPkg[litVar(x)]!);
          const best = this.choose(open);
          if (best >= 0) return best;
        }
        continue;
      }
      const prov = pool.whatProvides(n, pool.depFlags(i), pool.depEvr(i));
      let met = false;
      const open: number[] = [];
      for (const q of prov) {
        if (this.rs.pkgVar[q] === 0) continue;
        const v = this.val(q);
        if (v === 1) {
          met = true;
          break;
        }
        if (v === 0) open.push(q);
      }
      if (met || open.length === 0) continue;
      const best = this.choose(open);
      if (best >= 0) return best;
    }
    return -1;
  }

  /** Whether one of s's Supplements holds on what is chosen, thanks to something new. */
  private supplementHolds(s: number): boolean {
    const pool = this.pool;
    const [a, b] = pool.depRange(s, DepKind.SUPPLEMENTS);
    const chosen = (q: number): boolean => this.rs.pkgVar[q] !== 0 && this.val(q) === 1;
    const chosenNew = (q: number): boolean => chosen(q) && !pool.isInstalled(q);
    for (let i = a; i < b; i++) {
      const n = pool.depName(i);
      if (isRich(pool.str(n))) {
        const ctx = { providers: (leaf: { name: string; flags: number; evr: string }) => pool.whatProvidesDep(leaf.name, leaf.flags, leaf.evr), installed: chosen };
        const ctxOld = { providers: ctx.providers, installed: (q: number) => pool.isInstalled(q) };
        if (evalRich(pool.rich(n), ctx) && !evalRich(pool.rich(n), ctxOld)) return true;
        continue;
      }
      const prov = pool.whatProvides(n, pool.depFlags(i), pool.depEvr(i));
      if (prov.some(chosenNew) && !prov.some((q) => pool.isInstalled(q))) return true;
    }
    return false;
  }
}

function buildTransaction(pool: Pool, rs: RuleSet, sat: Sat, decider: Decider): Transaction {
  const result: number[] = [];
  for (let v = 1; v < rs.varPkg.length; v++) if (sat.value[v] === 1) result.push(rs.varPkg[v]!);
  result.sort((a, b) => a - b);
  const inResult = new Set(result);
  // reasons: reachable through requires from requested and installed packages = dependency
  const required = new Set<number>();
  const queue: number[] = result.filter((p) => rs.userPkgs.has(p) || pool.isInstalled(p));
  for (const p of queue) required.add(p);
  const follow = (start: number[]): void => {
    while (start.length) {
      const p = start.pop()!;
      for (const rule of rs.requiresOf.get(p) ?? []) {
        for (const x of rule.lits) {
          if (litNeg(x)) continue;
          const q = rs.varPkg[litVar(x)]!;
          if (inResult.has(q) && !required.has(q)) {
            required.add(q);
            start.push(q);
          }
        }
      }
    }
  };
  follow(queue);
  const reasonOf = (p: number): Reason => (rs.userPkgs.has(p) ? 'user' : required.has(p) ? 'dependency' : decider.weakDecided.has(p) ? 'weak' : 'dependency');
  const item = (p: number): TransactionItem => ({ pkg: p, nevra: pool.nevra(p), repo: pool.repos[pool.repo(p)]!.name, reason: reasonOf(p) });
  const install: TransactionItem[] = [];
  const upgrade: UpgradeItem[] = [];
  const downgrade: UpgradeItem[] = [];
  const erase: TransactionItem[] = [];
  const replaced = new Set<number>();
  for (const p of result) {
    if (pool.isInstalled(p)) continue;
    const old = Array.from(pool.packagesNamed(pool.name(p))).find((q) => pool.isInstalled(q) && !inResult.has(q) && !replaced.has(q));
    if (old !== undefined) {
      replaced.add(old);
      const it: UpgradeItem = { ...item(p), replaces: old, replacesNevra: pool.nevra(old) };
      if (compareEvrStrings(pool.str(pool.evr(p)), pool.str(pool.evr(old))) >= 0) upgrade.push(it);
      else downgrade.push(it);
    } else install.push(item(p));
  }
  for (let v = 1; v < rs.varPkg.length; v++) {
    const q = rs.varPkg[v]!;
    if (!pool.isInstalled(q) || inResult.has(q) || replaced.has(q)) continue;
    erase.push({ pkg: q, nevra: pool.nevra(q), repo: pool.repos[pool.repo(q)]!.name, reason: rs.eraseSet.has(q) ? 'user' : 'dependency' });
  }
  return {
    ok: true,
    install,
    upgrade,
    downgrade,
    erase,
    result,
    stats: { variables: rs.varPkg.length - 1, rules: rs.rules.length, decisions: sat.decisions, conflicts: sat.conflicts, restarts: sat.restarts },
  };
}
