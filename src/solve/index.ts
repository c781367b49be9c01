// Public surface of the dependency solver (rpm / dnf semantics): build a pool, add repositories and
// packages (from src/rpm headers or src/rpmmd primary.xml), then solve jobs into a transaction or
// into problems worded as dnf words them.
//
//   const pool = createPool();
//   const fedora = pool.addRepo('fedora', { priority: 99 });
//   const system = pool.addRepo('@System', { installed: true });
//   addPackage(pool, nevra, deps, { repo: fedora, files: primaryFiles });
//   const r = solve(pool, [{ op: 'install', what: { spec: 'vim' } }]);
//   if (r.ok) r.install.forEach((i) => …); else console.error(r.text);

import type { Nevra, PackageDependencies } from '../rpm/types.ts';
import type { RpmmdPackage } from '../rpmmd/primary.ts';
import { Pool } from './pool.ts';
import type { PackageInfo } from './pool.ts';

export { Pool, DepKind } from './pool.ts';
export type { PackageInfo, PoolRepo, FilelistsProvider } from './pool.ts';
export { solve } from './solver.ts';
export type { Job, Selector, SolveOptions, Transaction, TransactionItem, UpgradeItem, Problems, ProblemRule, Reason } from './types.ts';
export { rpmvercmp, parseEvr, compareEvr, compareEvrStrings, rangesOverlap, provideMatches, formatDep } from './version.ts';
export type { Evr } from './version.ts';
export { parseRich, formatRich, isRich, evalRich } from './rich.ts';
export type { RichNode, RichLeaf, RichOp } from './rich.ts';
export { formatProblems } from './problems.ts';
export { acceptedArches } from './policy.ts';

/** A new, empty package pool. */
export function createPool(): Pool {
  return new Pool();
}

/** Adds one package to `pool` (see Pool.addPackage); returns its id. */
export function addPackage(pool: Pool, nevra: Nevra, deps: PackageDependencies, info: PackageInfo): number {
  return pool.addPackage(nevra, deps, info);
}

/**
 * Adds one package streamed from primary.xml (src/rpmmd's streamPrimary) to `pool` under repo
 * index `repo`, with its primary files, location and sizes; returns its id.
 */
export function addRpmmdPackage(pool: Pool, repo: number, pkg: RpmmdPackage): number {
  if (!pkg || typeof pkg !== 'object') throw new TypeError('addRpmmdPackage: package expected');
  return pool.addPackage(pkg, pkg, {
    repo,
    files: pkg.files.map((f) => f.path),
    location: pkg.location.href,
    packageSize: pkg.size.package,
    installedSize: pkg.size.installed,
  });
}
