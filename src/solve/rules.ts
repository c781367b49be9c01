// Turns a pool and a list of jobs into SAT clauses ("rules", libsolv's word), each remembering why
// it exists so a failure can be explained: package rules (requires, incl. rich dependencies in CNF;
// conflicts; obsoletes by name and version range; one version per name; not installable), the
// keep-installed rules, and job rules. Only packages reachable from the jobs and the installed set
// become variables (libsolv's addpkgrulesforsolvable walk); Supplements pull in their packages too.

import { DepFlag } from '../rpm/types.ts';
import { XylemError } from '../util/errors.ts';
import type { Pool } from './pool.ts';
import { DepKind } from './pool.ts';
import { acceptedArches, archScores, sortCandidates } from './policy.ts';
import { isRich, providerSet, richLeaves } from './rich.ts';
import type { RichLeaf, RichNode } from './rich.ts';
import { negLit, posLit } from './sat.ts';
import type { Job, Selector, SolveOptions } from './types.ts';
import { compareEvrStrings, parseEvr, rangesOverlap } from './version.ts';

export const RuleKind = {
  PKG_REQUIRES: 1,
  PKG_NOTHING_PROVIDES: 2,
  PKG_CONFLICTS: 3,
  PKG_OBSOLETES: 4,
  PKG_SAME_NAME: 5,
  PKG_NOT_INSTALLABLE: 6,
  PKG_EXCLUDED: 7,
  JOB: 8,
  JOB_NOTHING_PROVIDES: 9,
  KEEP_INSTALLED: 10,
  PKG_SELF_CONFLICT: 11,
  /** An install job narrowed to its newest candidates (best=True). */
  JOB_BEST: 12,
} as const;

export const MAX_CNF_CLAUSES = 4096;

export interface Rule {
  kind: number;
  /** Package the rule is about (-1 for job rules). */
  p: number;
  /** Other package (conflicts, obsoletes, same name), else -1. */
  q: number;
  /** Dependency entry index in the pool (package rules), or job index (job rules), else -1. */
  dep: number;
  lits: Int32Array;
}

export interface RuleSet {
  rules: Rule[];
  /** Variable v (1-based) ↔ package id. */
  varPkg: Int32Array;
  pkgVar: Int32Array;
  /** Per install job: its candidates, best first (package ids). */
  jobCandidates: number[][];
  /** Install jobs' package ids (for reasons). */
  userPkgs: Set<number>;
  /** Installed packages with an upgrade request → their newer candidates, best first. */
  upgradeCandidates: Map<number, number[]>;
  /** Installed packages to erase. */
  eraseSet: Set<number>;
  /** Requires rules by package, in the package's dependency order, for the decision policy. */
  requiresOf: Map<number, Rule[]>;
  /** Requires rules in rule order (libsolv scans its sorted package rules in that order). */
  requiresRules: Rule[];
  /** Packages with Supplements among the variables. */
  supplementers: number[];
  scores: Map<number, number>;
  installable: (p: number) => boolean;
}

/** Resolves a selector to package ids (any arch; the caller filters). */
export function selectPackages(pool: Pool, sel: Selector): number[] {
  if (!sel || typeof sel !== 'object') throw new XylemError('job selector must be an object', 'EINVAL');
  if ('name' in sel) return Array.from(pool.packagesNamed(pool.lookup(String(sel.name))));
  if ('file' in sel) {
    const f = String(sel.file);
    if (!f.startsWith('/')) throw new XylemError(`file selector ${JSON.stringify(f)} is not an absolute path`, 'EINVAL');
    return Array.from(pool.whatProvidesDep(f, 0, ''));
  }
  if ('provides' in sel) {
    const { name, flags, evr } = parseDepString(String(sel.provides));
    return Array.from(pool.whatProvidesDep(name, flags, evr));
  }
  if ('nevra' in sel) return selectNevra(pool, String(sel.nevra));
  if ('spec' in sel) {
    const s = String(sel.spec).trim();
    if (s.startsWith('/')) return selectPackages(pool, { file: s });
    const byName = selectPackages(pool, { name: s });
    if (byName.length) return byName;
    const byNevra = selectNevra(pool, s);
    if (byNevra.length) return byNevra;
    return selectPackages(pool, { provides: s });
  }
  throw new XylemError('job selector needs one of name, provides, nevra, file, spec', 'EINVAL');
}

/** `name [op evr]` → parts. */
export function parseDepString(s: string): { name: string; flags: number; evr: string } {
  const m = /^\s*(\S+)\s*(?:(<=|>=|==|=|<|>)\s*(\S+))?\s*$/.exec(s);
  if (!m) throw new XylemError(`cannot parse dependency ${JSON.stringify(s)}`, 'EINVAL');
  const ops: Record<string, number> = { '<': DepFlag.LESS, '<=': DepFlag.LESS | DepFlag.EQUAL, '=': DepFlag.EQUAL, '==': DepFlag.EQUAL, '>': DepFlag.GREATER, '>=': DepFlag.GREATER | DepFlag.EQUAL };
  return { name: m[1]!, flags: m[2] ? ops[m[2]]! : 0, evr: m[3] ?? '' };
}

function selectNevra(pool: Pool, s: string): number[] {
  const tryParse = (text: string, arch: string | null): number[] => {
    const r = text.lastIndexOf('-');
    if (r <= 0) return [];
    const v = text.lastIndexOf('-', r - 1);
    if (v <= 0) return [];
    const name = text.slice(0, v);
    const evr = parseEvr(text.slice(v + 1));
    const out: number[] = [];
    for (const p of pool.packagesNamed(pool.lookup(name))) {
      const n = pool.nevra(p);
      if (arch !== null && n.arch !== arch) continue;
      if (n.version !== evr.version || n.release !== evr.release) continue;
      if (evr.epoch !== '' && Number(evr.epoch) !== (n.epoch ?? 0)) continue;
      out.push(p);
    }
    return out;
  };
  const dot = s.lastIndexOf('.');
  if (dot > 0) {
    const withArch = tryParse(s.slice(0, dot), s.slice(dot + 1));
    if (withArch.length) return withArch;
  }
  return tryParse(s, null);
}

function archColor(arch: string): number {
  if (arch === 'noarch') return 0;
  if (/^(i[3-6]86|athlon|ppc|s390|armv7hl)$/.test(arch)) return 1;
  return 2;
}

/** Builds the rules for `jobs` over `pool`. */
export function buildRules(pool: Pool, jobs: Job[], opts: SolveOptions, disabledJobs: Set<number>): RuleSet {
  const arch = opts.arch ?? 'x86_64';
  const multilib = opts.multilib === true;
  const weak = opts.installWeakDeps !== false;
  const scores = archScores(pool, arch, multilib);
  const acceptable = new Set(acceptedArches(arch, multilib).map((a) => pool.lookup(a)).filter((x) => x >= 0));
  const excluded = new Set<number>();
  for (const [ji, j] of jobs.entries()) if (j.op === 'exclude' && !disabledJobs.has(ji)) for (const p of selectPackages(pool, j.what)) if (!pool.isInstalled(p)) excluded.add(p);
  const archOk = (p: number): boolean => pool.isInstalled(p) || acceptable.has(pool.arch(p));
  const installable = (p: number): boolean => archOk(p) && !excluded.has(p);

  const pkgVar = new Int32Array(pool.size);
  const varPkg: number[] = [0];
  const queue: number[] = [];
  const addVar = (p: number): void => {
    if (pkgVar[p] !== 0) return;
    pkgVar[p] = varPkg.length;
    varPkg.push(p);
    queue.push(p);
  };
  const leafProviders = (leaf: RichLeaf): Int32Array => pool.whatProvidesDep(leaf.name, leaf.flags, leaf.evr);
  const depProviders = (e: number): Int32Array => pool.whatProvides(pool.depName(e), pool.depFlags(e), pool.depEvr(e));

  // seeds: installed packages and job candidates
  const installed: number[] = Array.from(pool.installedPackages());
  for (const p of installed) addVar(p);
  const obsoleters = (q: number): number[] => {
    // dnf (obsoletes=True) lets a package that obsoletes a requested one answer the request
    const out: number[] = [];
    const list = pool.obsoletesNaming(pool.name(q));
    for (let k = 0; k < list.length; k += 2) {
      const p = list[k]!;
      const i = list[k + 1]!;
      if (p !== q && !pool.isInstalled(p) && rangesOverlap(DepFlag.EQUAL, pool.str(pool.evr(q)), pool.depFlags(i), pool.str(pool.depEvr(i)))) out.push(p);
    }
    return out;
  };
  const jobSel: (number[] | null)[] = jobs.map((j, ji) => {
    if (disabledJobs.has(ji) || j.op === 'exclude') return null;
    if (j.op === 'upgrade') return null;
    let sel = selectPackages(pool, j.what);
    if (j.op === 'install') {
      const extra = new Set<number>(sel);
      for (const q of sel) for (const o of obsoleters(q)) extra.add(o);
      sel = [...extra].sort((a, b) => a - b);
    }
    for (const p of sel) addVar(p);
    return sel;
  });
  const upgradeCandidates = new Map<number, number[]>();
  for (const [ji, j] of jobs.entries()) {
    if (j.op !== 'upgrade' || disabledJobs.has(ji)) continue;
    const targets = j.what ? new Set(selectPackages(pool, j.what)) : null;
    for (const q of installed) {
      if (targets && !targets.has(q)) {
        // a selector may name the new version rather than the installed one
        const sameName = [...targets].some((t) => pool.name(t) === pool.name(q));
        if (!sameName) continue;
      }
      const qEvr = pool.str(pool.evr(q));
      const newer = Array.from(pool.packagesNamed(pool.name(q))).filter((c) => !pool.isInstalled(c) && installable(c) && (!multilib || archColor(pool.str(pool.arch(c))) === archColor(pool.str(pool.arch(q))) || archColor(pool.str(pool.arch(c))) === 0 || archColor(pool.str(pool.arch(q))) === 0) && compareEvrStrings(pool.str(pool.evr(c)), qEvr) > 0);
      if (newer.length) {
        upgradeCandidates.set(q, sortCandidates(pool, newer, scores));
        for (const c of newer) addVar(c);
      }
    }
  }

  const expand = (): void => {
    while (queue.length) {
      const p = queue.shift()!;
      if (!installable(p)) continue;
      const kinds = weak ? [DepKind.REQUIRES, DepKind.RECOMMENDS] : [DepKind.REQUIRES];
      for (const k of kinds) {
        const [s, e] = pool.depRange(p, k);
        for (let i = s; i < e; i++) {
          const n = pool.depName(i);
          if (isRich(pool.str(n))) {
            for (const leaf of richLeaves(richOf(pool, p, n))) for (const q of leafProviders(leaf)) addVar(q);
          } else for (const q of depProviders(i)) addVar(q);
        }
      }
      // rich conflicts can be resolved by installing a condition: their packages take part
      const [cs, ce] = pool.depRange(p, DepKind.CONFLICTS);
      for (let i = cs; i < ce; i++) {
        const n = pool.depName(i);
        if (isRich(pool.str(n))) for (const leaf of richLeaves(richOf(pool, p, n))) for (const q of leafProviders(leaf)) addVar(q);
      }
      // installed packages: their same-name packages take part in upgrades and obsoletes
      if (pool.isInstalled(p)) for (const q of pool.packagesNamed(pool.name(p))) if (q !== p && installable(q) && upgradeCandidates.has(p)) addVar(q);
    }
  };
  expand();
  if (weak) {
    // packages whose Supplements mention something among the variables
    for (let round = 0; round < 4; round++) {
      let added = 0;
      for (const p of pool.packagesWith(DepKind.SUPPLEMENTS)) {
        if (pkgVar[p] !== 0 || !installable(p)) continue;
        const [s, e] = pool.depRange(p, DepKind.SUPPLEMENTS);
        let hit = false;
        for (let i = s; i < e && !hit; i++) {
          const n = pool.depName(i);
          if (isRich(pool.str(n))) {
            for (const leaf of richLeaves(richOf(pool, p, n))) if (leafProviders(leaf).some((q) => pkgVar[q] !== 0)) hit = true;
          } else if (depProviders(i).some((q) => pkgVar[q] !== 0)) hit = true;
        }
        if (hit) {
          addVar(p);
          added++;
        }
      }
      if (!added) break;
      expand();
    }
  }

  const rules: Rule[] = [];
  const requiresOf = new Map<number, Rule[]>();
  const lit = (q: number, neg: boolean): number => (neg ? negLit(pkgVar[q]!) : posLit(pkgVar[q]!));
  const pkgRules: Rule[] = [];
  const add = (kind: number, p: number, q: number, dep: number, lits: number[]): Rule => {
    const r: Rule = { kind, p, q, dep, lits: Int32Array.from(lits) };
    if (kind === RuleKind.JOB || kind === RuleKind.JOB_BEST || kind === RuleKind.JOB_NOTHING_PROVIDES || kind === RuleKind.KEEP_INSTALLED) rules.push(r);
    else pkgRules.push(r);
    return r;
  };
  const obsoletedBy = new Map<number, number[]>();
  const supplementers: number[] = [];

  for (let v = 1; v < varPkg.length; v++) {
    const p = varPkg[v]!;
    if (!installable(p)) {
      add(excluded.has(p) ? RuleKind.PKG_EXCLUDED : RuleKind.PKG_NOT_INSTALLABLE, p, -1, -1, [lit(p, true)]);
      continue;
    }
    const reqRules: Rule[] = [];
    const [rs, re] = pool.depRange(p, DepKind.REQUIRES);
    for (let i = rs; i < re; i++) {
      const n = pool.depName(i);
      if (isRich(pool.str(n))) {
        const tree = richOf(pool, p, n);
        const cnf = richCnf(tree, true, (leaf) => Array.from(leafProviders(leaf)).map((q) => lit(q, false)), (node) => providerSet(node, { providers: leafProviders }).map((q) => lit(q, false)));
        for (const clause of cnf) {
          const lits = [lit(p, true), ...clause];
          reqRules.push(add(clause.length === 0 ? RuleKind.PKG_NOTHING_PROVIDES : RuleKind.PKG_REQUIRES, p, -1, i, lits));
        }
      } else {
        const prov = depProviders(i);
        if (prov.includes(p)) continue; // satisfied by itself
        const lits = [lit(p, true)];
        for (const q of prov) lits.push(lit(q, false));
        reqRules.push(add(prov.length === 0 ? RuleKind.PKG_NOTHING_PROVIDES : RuleKind.PKG_REQUIRES, p, -1, i, lits));
      }
    }
    requiresOf.set(p, reqRules);
    const [cs, ce] = pool.depRange(p, DepKind.CONFLICTS);
    for (let i = cs; i < ce; i++) {
      const n = pool.depName(i);
      if (isRich(pool.str(n))) {
        const tree = richOf(pool, p, n);
        const cnf = richCnf(tree, false, (leaf) => Array.from(leafProviders(leaf)).filter((q) => q !== p && pkgVar[q] !== 0).map((q) => lit(q, false)), (node) => providerSet(node, { providers: leafProviders }).filter((q) => q !== p && pkgVar[q] !== 0).map((q) => lit(q, false)));
        for (const clause of cnf) add(RuleKind.PKG_CONFLICTS, p, -1, i, [lit(p, true), ...clause]);
        continue;
      }
      for (const q of depProviders(i)) {
        if (pkgVar[q] === 0) continue;
        if (q === p) continue; // rpm ignores a package conflicting with its own provides
        add(RuleKind.PKG_CONFLICTS, p, q, i, [lit(p, true), lit(q, true)]);
      }
    }
    const [os, oe] = pool.depRange(p, DepKind.OBSOLETES);
    for (let i = os; i < oe; i++) {
      const flags = pool.depFlags(i);
      const evr = pool.str(pool.depEvr(i));
      for (const q of pool.packagesNamed(pool.depName(i))) {
        if (q === p || pkgVar[q] === 0) continue;
        if (!rangesOverlap(DepFlag.EQUAL, pool.str(pool.evr(q)), flags, evr)) continue;
        if (pool.isInstalled(p)) continue; // installed packages' obsoletes do not act
        add(RuleKind.PKG_OBSOLETES, p, q, i, [lit(p, true), lit(q, true)]);
        if (pool.isInstalled(q)) {
          const list = obsoletedBy.get(q) ?? [];
          list.push(p);
          obsoletedBy.set(q, list);
        }
      }
    }
    const [ss, se] = pool.depRange(p, DepKind.SUPPLEMENTS);
    if (ss !== se && weak) supplementers.push(p);
  }
  // one version per name (and arch color, with multilib)
  const byName = new Map<number, number[]>();
  for (let v = 1; v < varPkg.length; v++) {
    const p = varPkg[v]!;
    if (!installable(p)) continue;
    const list = byName.get(pool.name(p));
    if (list) list.push(p);
    else byName.set(pool.name(p), [p]);
  }
  for (const list of byName.values()) {
    if (list.length < 2) continue;
    for (let i = 0; i < list.length; i++)
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i]!;
        const b = list[j]!;
        if (multilib) {
          const ca = archColor(pool.str(pool.arch(a)));
          const cb = archColor(pool.str(pool.arch(b)));
          if (ca !== 0 && cb !== 0 && ca !== cb) continue;
        }
        const [hi, lo] = a > b ? [a, b] : [b, a];
        add(RuleKind.PKG_SAME_NAME, hi, lo, -1, [lit(hi, true), lit(lo, true)]);
      }
  }
  // libsolv sorts its package rules (solver_unifyrules) and drops duplicates; the order decides
  // which assertion comes first and how propagation runs, hence the wording of problems
  const signed = (l: number): number => (varPkg[l >>> 1]! + 1) * (l & 1 ? -1 : 1);
  for (const r of pkgRules) if (r.lits.length === 2 && signed(r.lits[0]!) > signed(r.lits[1]!)) r.lits.reverse();
  const order = pkgRules.map((r, i) => i);
  const k1 = pkgRules.map((r) => (r.lits.length ? signed(r.lits[0]!) : -Infinity));
  const k2 = pkgRules.map((r) => (r.lits.length > 2 ? 1 : 0));
  const k3 = pkgRules.map((r) => (r.lits.length === 2 ? signed(r.lits[1]!) : 0));
  order.sort((x, y) => k1[x]! - k1[y]! || k2[x]! - k2[y]! || k3[x]! - k3[y]! || x - y);
  const sortedPkgRules: Rule[] = [];
  let last: Rule | null = null;
  for (const i of order) {
    const r = pkgRules[i]!;
    if (last && last.lits.length === r.lits.length && last.lits.every((x, j) => x === r.lits[j])) continue;
    sortedPkgRules.push(r);
    last = r;
  }
  if (rules.length !== 0) throw new XylemError('rules: package rules must come first', 'EINTERNAL');
  for (const r of sortedPkgRules) rules.push(r);
  // installed packages stay, or are replaced by a newer version or an obsoleting package
  const eraseSet = new Set<number>();
  for (const [ji, j] of jobs.entries()) if (j.op === 'erase' && !disabledJobs.has(ji)) for (const q of jobSel[ji] ?? []) if (pool.isInstalled(q)) eraseSet.add(q);
  const hardKeep = opts.allowErasing !== true && eraseSet.size === 0;
  if (hardKeep)
    for (const q of installed) {
      const lits = [lit(q, false)];
      const qEvr = pool.str(pool.evr(q));
      for (const c of byName.get(pool.name(q)) ?? []) if (c !== q && compareEvrStrings(pool.str(pool.evr(c)), qEvr) > 0) lits.push(lit(c, false));
      for (const o of obsoletedBy.get(q) ?? []) lits.push(lit(o, false));
      add(RuleKind.KEEP_INSTALLED, q, -1, -1, lits);
    }
  // jobs
  const jobCandidates: number[][] = [];
  const userPkgs = new Set<number>();
  for (const [ji, j] of jobs.entries()) {
    const sel = jobSel[ji];
    if (sel === null || sel === undefined) continue;
    if (j.op === 'install') {
      let cands = sel;
      let narrowed = false;
      if (opts.best === true && cands.length > 1) {
        const sorted = sortCandidates(pool, cands.filter(installable), scores);
        if (sorted.length) {
          const top = sorted[0]!;
          const best = sorted.filter((c) => pool.priority(c) === pool.priority(top) && (pool.name(c) !== pool.name(top) || compareEvrStrings(pool.str(pool.evr(c)), pool.str(pool.evr(top))) === 0));
          narrowed = best.length < cands.length;
          cands = best;
        }
      }
      for (const c of cands) userPkgs.add(c);
      jobCandidates.push(sortCandidates(pool, cands.filter(installable), scores));
      add(cands.length === 0 ? RuleKind.JOB_NOTHING_PROVIDES : narrowed ? RuleKind.JOB_BEST : RuleKind.JOB, -1, -1, ji, cands.map((c) => lit(c, false)));
    } else if (j.op === 'erase') {
      for (const q of sel) if (pool.isInstalled(q)) add(RuleKind.JOB, q, -1, ji, [lit(q, true)]);
    } else if (j.op === 'lock') {
      for (const q of sel) add(RuleKind.JOB, q, -1, ji, [lit(q, !pool.isInstalled(q))]);
    }
  }
  const requiresRules = rules.filter((r) => r.kind === RuleKind.PKG_REQUIRES);
  return { rules, varPkg: Int32Array.from(varPkg), pkgVar, jobCandidates, userPkgs, upgradeCandidates, eraseSet, requiresOf, requiresRules, supplementers, scores, installable };
}

function richOf(pool: Pool, p: number, nameId: number): RichNode {
  try {
    return pool.rich(nameId);
  } catch (e) {
    const n = pool.nevra(p);
    throw new XylemError(`package ${n.name}-${n.version}-${n.release}.${n.arch}: ${(e as Error).message}`, 'ERICHDEP');
  }
}

type Cnf = number[][];

/** CNF of `node` (positive) or of its negation, over package literals. */
export function richCnf(node: RichNode, positive: boolean, leafLits: (leaf: RichLeaf) => number[], setLits: (node: RichNode) => number[]): Cnf {
  const cap = (c: Cnf): Cnf => {
    if (c.length > MAX_CNF_CLAUSES) throw new XylemError(`rich dependency expands to more than ${MAX_CNF_CLAUSES} clauses`, 'ERICHDEP');
    return c;
  };
  const asLeaf = (lits: number[], pos: boolean): Cnf => (pos ? [lits] : lits.map((l) => [l ^ 1]));
  const or = (parts: Cnf[]): Cnf => {
    let acc: Cnf = [[]];
    for (const part of parts) {
      if (part.length === 0) return []; // one side is always true
      const next: Cnf = [];
      for (const a of acc) for (const b of part) next.push([...a, ...b]);
      acc = cap(next);
    }
    return acc;
  };
  const and = (parts: Cnf[]): Cnf => cap(parts.flat());
  const go = (n: RichNode, pos: boolean): Cnf => {
    if (n.kind === 'dep') return asLeaf(leafLits(n), pos);
    const A = n.args;
    switch (n.op) {
      case 'and':
        return pos ? and(A.map((a) => go(a, true))) : or(A.map((a) => go(a, false)));
      case 'or':
        return pos ? or(A.map((a) => go(a, true))) : and(A.map((a) => go(a, false)));
      case 'with':
      case 'without':
        return asLeaf(setLits(n), pos);
      case 'if': {
        const [a, b] = [A[0]!, A[1]!];
        const c = n.else;
        if (pos) return c ? and([or([go(a, true), go(b, false)]), or([go(b, true), go(c, true)])]) : or([go(a, true), go(b, false)]);
        return c ? or([and([go(a, false), go(b, true)]), and([go(b, false), go(c, false)])]) : and([go(a, false), go(b, true)]);
      }
      case 'unless': {
        const [a, b] = [A[0]!, A[1]!];
        const c = n.else;
        // libsolv: `A unless B` = A and not B; with else: B ? C : A
        if (pos) return c ? and([or([go(a, true), go(b, true)]), or([go(b, false), go(c, true)])]) : and([go(a, true), go(b, false)]);
        return c ? or([and([go(a, false), go(b, false)]), and([go(b, true), go(c, false)])]) : or([go(a, false), go(b, true)]);
      }
    }
  };
  return go(node, positive);
}
