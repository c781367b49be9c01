// A repo's `excludepkgs` / `includepkgs` as dnf applies them when it loads a repository: each
// entry is a glob (`*`, `?`, `[…]`) matched against the forms a package can be named by (name,
// name.arch, name-version, name-version-release, the NEVRA with and without epoch). Excluded
// packages are dropped; with includepkgs, only matching packages are kept.

import type { Nevra } from '../rpm/types.ts';
import type { RepoConfig } from './repo-file.ts';

/** An fnmatch-style glob as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  if (typeof glob !== 'string') throw new TypeError('globToRegExp: glob must be a string');
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

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
