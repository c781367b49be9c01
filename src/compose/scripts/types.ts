// What the script runner needs to know about each package of a transaction: its scriptlets
// (interpreter argv, body, flags: RPMTAG_*PROG / the script tag / RPMTAG_*FLAGS), its triggers and
// file triggers. The RPM reader (src/rpm) fills these from a header; tests fill them from
// `rpm -qp --qf`. Mirrors the header data rpm-ostree reads in rpmostree-scripts.cxx.

import type { Dependency } from '../../rpm/types.ts';

/** Scriptlet kinds an RPM header can carry (desc names as rpm-ostree prints them, minus '%'). */
export type ScriptletKind = 'pretrans' | 'prein' | 'post' | 'posttrans' | 'preun' | 'postun' | 'preuntrans' | 'postuntrans' | 'verifyscript';

/** Script flag bits (RPMTAG_*FLAGS). */
export const ScriptFlag = {
  /** Expand macros in the body before running (`%post -e`). */
  EXPAND: 1,
  /** Header queryformat expansion (`-q`). */
  QFORMAT: 2,
  CRITICAL: 4,
} as const;

/** One scriptlet. An empty `interpreter` means rpm's default `/bin/sh`; `['<lua>']` is Lua. */
export interface Scriptlet {
  interpreter: string[];
  body: string;
  flags: number;
}

/** A regular trigger (%triggerin and friends): fires on other packages named in `conditions`. */
export interface PackageTrigger {
  kind: 'prein' | 'in' | 'un' | 'postun';
  conditions: Dependency[];
  script: Scriptlet;
}

/**
 * A file trigger: `prefixes` are path prefixes (RPMTAG_[TRANS]FILETRIGGERNAME); `priority` orders
 * triggers (higher first; ≥ 10000 runs before the triggering package's %post in rpm).
 */
export interface FileTrigger {
  scope: 'file' | 'transfile';
  kind: 'in' | 'un' | 'postun';
  priority: number;
  prefixes: string[];
  script: Scriptlet;
}

/** What the transaction does with a package: `$1` is 1 on install, 2 on upgrade/downgrade. */
export type PackageAction = 'install' | 'upgrade' | 'downgrade';

/** A package as the script runner sees it. */
export interface ScriptPackage {
  name: string;
  /** Needed for rpm-ostree's release-suffix replacements (pam.post on .el7…). */
  release: string;
  /** `[E:]V-R`, for versioned %triggerin conditions (a versioned condition never matches without it). */
  evr?: string;
  action: PackageAction;
  scripts: Partial<Record<ScriptletKind, Scriptlet>>;
  triggers: PackageTrigger[];
  fileTriggers: FileTrigger[];
}

/** The phases rpm-ostree runs, in order. */
export type ScriptPhase = 'pre' | 'post' | 'posttrans';

/** Progress of a script run. */
export type ScriptEvent =
  | { type: 'phase-start'; phase: ScriptPhase; label: string }
  | { type: 'phase-done'; phase: ScriptPhase; label: string; count: number }
  | { type: 'script-start'; pkg: string; script: string }
  | { type: 'script-skipped'; pkg: string; script: string; reason: string }
  | { type: 'output'; pkg: string; script: string; line: string }
  | { type: 'script-done'; pkg: string; script: string; ms: number; matchedFiles?: number };
