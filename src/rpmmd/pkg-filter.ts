// A repo's `excludepkgs` / `includepkgs` as dnf applies them when it loads a repository: each
// entry is a glob (`*`, `?`, `[…]`) matched against the forms a package can be named by (name,
// name.arch, name-version, name-version-release, the NEVRA with and without epoch). Excluded
// packages are dropped; with includepkgs, only matching packages are kept.

import type { Nevra } from '../rpm/types.ts';
import type { RepoConfig } from './repo-file.ts';
import { globToRegExp } from '../util/glob.ts';

/** The names dnf matches a pattern against. */
function forms(p: Nevra): string[] {
  const vr = `${p.version}-${p.release}`;
  const e = p.epoch ?? 0;
  return [p.name, `${p.name}.${p.arch}`, `${p.name}-${p.version}`, `${p.name}-${vr}`, `${p.name}-${vr}.${p.arch}`, `${p.name}-${e}:${vr}.${p.arch}`, `${p.name}-${e}:${vr}`];
}

/** Whether a package of `repo` is visible after its excludepkgs / includepkgs. */
export function repoPackageFilter(repo: Pick<RepoConfig, 'excludepkgs' | 'includepkgs'>): (p: Nevra) => boolean {
  const ex = repo.excludepkgs.map(globToRegExp);
  const inc = repo.includepkgs.map(globToRegExp);
  return (p: Nevra): boolean => {
    const names = forms(p);
    if (ex.some((r) => names.some((n) => r.test(n)))) return false;
    if (inc.length > 0 && !inc.some((r) => names.some((n) => r.test(n)))) return false;
    return true;
  };
}
