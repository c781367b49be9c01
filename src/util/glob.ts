// fnmatch(3)-style globs (`*`, `?`, `[…]`, `[!…]`, no flags) as anchored regular expressions: what
// dnf's excludepkgs/includepkgs and rpm-ostree's `db list REV PATTERN` match package names with.

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
