// Words for unsolvable requests, as libsolv's problems.c writes them and dnf prints them:
// `nothing provides DEP needed by NEVRA`, `package A requires DEP, but none of the providers can be
// installed`, `cannot install both A and B`, `conflicting requests`… and dnf's layout (` Problem: …`
// or ` Problem N: …` headlines, `  - …` lines, duplicates dropped).

import { formatNevra } from '../rpm/types.ts';
import type { Pool } from './pool.ts';
import { RuleKind } from './rules.ts';
import type { Rule } from './rules.ts';
import type { Job, ProblemRule, Problems, Selector } from './types.ts';
import { formatDep } from './version.ts';

function nevraOf(pool: Pool, p: number): string {
  return formatNevra(pool.nevra(p));
}

function depText(pool: Pool, e: number): string {
  return formatDep(pool.str(pool.depName(e)), pool.depFlags(e), pool.str(pool.depEvr(e)));
}

export function selectorText(sel: Selector | undefined): string {
  if (!sel) return '';
  if ('name' in sel) return sel.name;
  if ('provides' in sel) return sel.provides;
  if ('nevra' in sel) return sel.nevra;
  if ('file' in sel) return sel.file;
  return sel.spec;
}

/** The dnf sentence for one rule. */
export function ruleText(pool: Pool, r: Rule, jobs: Job[]): ProblemRule {
  switch (r.kind) {
    case RuleKind.PKG_NOTHING_PROVIDES:
      return { kind: 'nothing-provides', text: `nothing provides ${depText(pool, r.dep)} needed by ${nevraOf(pool, r.p)}` };
    case RuleKind.PKG_REQUIRES:
      return { kind: 'requires', text: `package ${nevraOf(pool, r.p)} requires ${depText(pool, r.dep)}, but none of the providers can be installed` };
    case RuleKind.PKG_CONFLICTS:
      if (r.q < 0) return { kind: 'conflicts', text: `package ${nevraOf(pool, r.p)} conflicts with ${depText(pool, r.dep)}` };
      return { kind: 'conflicts', text: `package ${nevraOf(pool, r.p)} conflicts with ${depText(pool, r.dep)} provided by ${nevraOf(pool, r.q)}` };
    case RuleKind.PKG_OBSOLETES:
      return { kind: 'obsoletes', text: `package ${nevraOf(pool, r.p)} obsoletes ${depText(pool, r.dep)} provided by ${nevraOf(pool, r.q)}` };
    case RuleKind.PKG_SAME_NAME:
      return { kind: 'same-name', text: `cannot install both ${nevraOf(pool, r.p)} and ${nevraOf(pool, r.q)}` };
    case RuleKind.PKG_NOT_INSTALLABLE:
      return { kind: 'not-installable', text: `package ${nevraOf(pool, r.p)} does not have a compatible architecture` };
    case RuleKind.PKG_EXCLUDED:
      return { kind: 'excluded', text: `package ${nevraOf(pool, r.p)} is filtered out by exclude filtering` };
    case RuleKind.KEEP_INSTALLED:
      return { kind: 'installed', text: `problem with installed package ${nevraOf(pool, r.p)}` };
    case RuleKind.JOB_NOTHING_PROVIDES:
      return { kind: 'job-nothing-provides', text: `nothing provides requested ${selectorText(jobs[r.dep]?.what)}` };
    case RuleKind.JOB:
      return { kind: 'job', text: 'conflicting requests' };
    case RuleKind.JOB_BEST:
      return { kind: 'best', text: 'cannot install the best candidate for the job' };
    default:
      return { kind: 'unknown', text: `package ${r.p >= 0 ? nevraOf(pool, r.p) : '?'} is not installable` };
  }
}

/** One problem's rules in dnf's wording, duplicates removed (first stays the headline). */
export function describeProblem(pool: Pool, rules: Rule[], ruleIds: number[], jobs: Job[]): ProblemRule[] {
  const out: ProblemRule[] = [];
  const seen = new Set<string>();
  for (const id of ruleIds) {
    const t = ruleText(pool, rules[id]!, jobs);
    if (seen.has(t.text)) continue;
    seen.add(t.text);
    out.push(t);
  }
  return out;
}

/** dnf's layout of a list of problems. */
export function formatProblems(problems: ProblemRule[][]): string {
  const lines: string[] = [];
  problems.forEach((rules, i) => {
    const head = problems.length === 1 ? 'Problem' : `Problem ${i + 1}`;
    lines.push(` ${head}: ${rules[0]?.text ?? 'unknown problem'}`);
    for (const r of rules.slice(1)) lines.push(`  - ${r.text}`);
  });
  return lines.join('\n');
}

export function makeProblems(problems: ProblemRule[][]): Problems {
  return { ok: false, problems, text: formatProblems(problems) };
}
