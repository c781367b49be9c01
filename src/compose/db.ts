// The engine of `rpm-xylem db diff | list | version`: resolve revisions in a repo and read each
// commit's `rpmostree.rpmdb.pkglist` (rpm-ostree reads the same key before falling back to the
// rpmdb inside the tree). Rendering lives in dbdiff.ts; the CLI only prints.

import type { Nevra } from '../rpm/types.ts';
import { formatNevra } from '../rpm/types.ts';
import type { Repo } from '../repo/repo.ts';
import { resolveRev } from '../repo/refs.ts';
import { XylemError } from '../util/errors.ts';
import { diffPackages, type PackageDiff } from './dbdiff.ts';
import { PKGLIST_KEY, readPkglist } from './pkglist.ts';
import { globToRegExp } from '../util/glob.ts';

export interface CommitPackages {
  rev: string;
  checksum: string;
  packages: Nevra[];
}

/** The packages of the commit `rev` names; an error when it has no package list. */
export async function commitPackages(repo: Repo, rev: string): Promise<CommitPackages> {
  if (typeof rev !== 'string' || rev === '') throw new TypeError('commitPackages: a revision is required');
  const checksum = (await resolveRev(repo, rev))!;
  const commit = await repo.loadCommit(checksum);
  const packages = readPkglist(commit.metadata, `Commit ${checksum}`);
  if (packages === null) throw new XylemError(`Commit ${checksum} has no ${PKGLIST_KEY} metadata (not composed by rpm-ostree or rpm-xylem)`, 'ENOPKGLIST');
  return { rev, checksum, packages };
}

export interface DbDiffResult {
  from: CommitPackages;
  to: CommitPackages;
  diff: PackageDiff;
}

/** `db diff FROM TO`. */
export async function dbDiff(repo: Repo, fromRev: string, toRev: string): Promise<DbDiffResult> {
  const from = await commitPackages(repo, fromRev);
  const to = await commitPackages(repo, toRev);
  return { from, to, diff: diffPackages(from.packages, to.packages) };
}


/** `db list REV [PATTERN…]`: packages whose name or NEVRA matches one of the patterns (all without). */
export async function dbList(repo: Repo, rev: string, patterns: readonly string[] = []): Promise<CommitPackages> {
  const r = await commitPackages(repo, rev);
  if (patterns.length === 0) return r;
  const res = patterns.map(globToRegExp);
  return { ...r, packages: r.packages.filter((p) => res.some((re) => re.test(p.name) || re.test(formatNevra(p)))) };
}
