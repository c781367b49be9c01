// Public vocabulary of the solver: jobs (what the user asks), options (dnf's defaults), and the two
// possible answers — a transaction, or problems worded as dnf words them.

import type { Nevra } from '../rpm/types.ts';

/**
 * What a job applies to. `name`: packages of that name; `provides`: a capability, optionally
 * versioned (`foo >= 1.2`); `nevra`: `name-[E:]V-R.arch` (or without `.arch`); `file`: an absolute
 * path; `spec`: dnf-like guessing (path, then NEVRA, then name, then provides).
 */
export type Selector = { name: string } | { provides: string } | { nevra: string } | { file: string } | { spec: string };

export type Job =
  | { op: 'install'; what: Selector }
  | { op: 'erase'; what: Selector }
  | { op: 'upgrade'; what?: Selector }
  | { op: 'lock'; what: Selector }
  | { op: 'exclude'; what: Selector };

export interface SolveOptions {
  /** Host architecture (default x86_64). */
  arch?: string;
  /** Accept the secondary architectures (i686 on x86_64). Default false. */
  multilib?: boolean;
  /** dnf install_weak_deps (default true): Recommends of new packages, Supplements. */
  installWeakDeps?: boolean;
  /** dnf best (default false): with true, only the newest candidates of requested packages. */
  best?: boolean;
  /** dnf --allowerasing: installed packages may be removed to satisfy the jobs. */
  allowErasing?: boolean;
  /** Work bound (conflicts) before giving up with ESOLVELIMIT. */
  maxConflicts?: number;
}

export type Reason = 'user' | 'dependency' | 'weak';

export interface TransactionItem {
  pkg: number;
  nevra: Nevra;
  repo: string;
  reason: Reason;
}

export interface UpgradeItem extends TransactionItem {
  /** The installed package it replaces. */
  replaces: number;
  replacesNevra: Nevra;
}

export interface Transaction {
  ok: true;
  install: TransactionItem[];
  upgrade: UpgradeItem[];
  downgrade: UpgradeItem[];
  erase: TransactionItem[];
  /** Everything installed after the transaction (package ids), ascending. */
  result: number[];
  stats: { variables: number; rules: number; decisions: number; conflicts: number; restarts: number };
}

/** One rule taking part in a problem, with its dnf wording. */
export interface ProblemRule {
  kind: string;
  text: string;
}

export interface Problems {
  ok: false;
  /** Each problem: its rules, first is the headline. */
  problems: ProblemRule[][];
  /** dnf's rendering: ` Problem: …` / ` Problem N: …` and `  - …` lines. */
  text: string;
}
