// The treefile's own edits of the assembled root, as rpm-ostree applies them in postprocessing:
// `remove-files` (paths relative to the root; `etc/…` also means `usr/etc/…`), `add-files`
// ([source, /destination]; `/etc/…` lands in `usr/etc/…`), and `remove-from-packages` (files of a
// package whose original RPM path matches a regular expression). Paths never leave the root.

import type { FsHost } from '../host.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { XylemError } from '../util/errors.ts';
import { dirname, joinPath } from '../util/path.ts';
import type { ComposePackage } from './package.ts';
import { translatePath } from './translate.ts';

/** Root-relative path an absolute or relative tree path lands at after `etc` → `usr/etc`. */
export function inTree(path: string): string {
  const rel = path.replace(/^\/+/, '');
  if (rel.split('/').some((c) => c === '..')) throw new XylemError(`${path}: '..' would leave the tree`, 'EINVAL');
  return rel === 'etc' || rel.startsWith('etc/') ? `usr/${rel}` : rel;
}

/** Refuses a path whose parent directories inside the root include a symlink. */
async function checkNoSymlinkParents(fs: FsHost, root: string, rel: string): Promise<void> {
  const parts = rel.split('/').filter((c) => c !== '');
  let p = root;
  for (const c of parts.slice(0, -1)) {
    p = joinPath(p, c);
    const st = await fs.lstat(p);
    if (st?.kind === 'symlink') throw new XylemError(`${rel}: goes through the symlink ${p.slice(root.length)}`, 'EINVAL');
  }
}

export async function removeFiles(fs: FsHost, root: string, paths: readonly string[]): Promise<number> {
  let n = 0;
  for (const p of paths) {
    for (const rel of new Set([p.replace(/^\/+/, ''), inTree(p)])) {
      await checkNoSymlinkParents(fs, root, rel);
      const full = joinPath(root, rel);
      if (await fs.lstat(full)) {
        await fs.rmrf(full);
        n++;
      }
    }
  }
  return n;
}

export async function addFiles(fs: FsHost, root: string, files: ReadonlyArray<readonly [string, string]>, externals: ReadonlyArray<{ path: string; data: Uint8Array }>): Promise<void> {
  for (const [src, dest] of files) {
    const rel = inTree(dest);
    if (rel === '') throw new XylemError(`add-files: destination '${dest}' is the root`, 'EINVAL');
    await checkNoSymlinkParents(fs, root, rel);
    const data = externals.find((e) => e.path === src)?.data;
    if (!data) throw new XylemError(`add-files: ${src} was not read with the treefile`, 'ENOENT');
    const st = await fs.stat(src);
    const full = joinPath(root, rel);
    await fs.mkdir(dirname(full), { recursive: true, mode: 0o755 });
    const mode = st ? st.mode & 0o7777 : 0o644;
    await writeFileAtomic(fs, full, data, { mode });
    await fs.chmod(full, mode);
  }
}

/** Removes, from the root, the files of `packages` named in `rules` whose RPM path matches a regex. */
export async function removeFromPackages(fs: FsHost, root: string, rules: ReadonlyArray<readonly [string, readonly RegExp[]]>, packages: readonly ComposePackage[]): Promise<number> {
  let n = 0;
  for (const [name, res] of rules) {
    const pkg = packages.find((p) => p.nevra.name === name);
    if (!pkg) throw new XylemError(`remove-from-packages: package '${name}' is not in the tree`, 'ENOENT');
    for (const f of pkg.files()) {
      if (f.ghost || (f.mode & 0o170000) === 0o040000) continue;
      if (!res.some((re) => re.test(f.path))) continue;
      const tr = translatePath(f.path, f.mode, f.user, f.group, f.linkto, pkg.pkg);
      if (tr.kind !== 'store') continue;
      const full = joinPath(root, tr.path);
      if (await fs.lstat(full)) {
        await fs.unlink(full);
        n++;
      }
    }
  }
  return n;
}
