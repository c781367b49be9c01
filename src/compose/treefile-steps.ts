// The treefile's own edits of the assembled root, as rpm-ostree applies them in postprocessing:
// `remove-files` (paths relative to the root; `etc/…` also means `usr/etc/…`), `add-files`
// ([source, /destination]; `/etc/…` lands in `usr/etc/…`), and `remove-from-packages` (files of a
// package whose original RPM path matches a regular expression). Paths never leave the root.

import type { FsHost } from '../host.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { XylemError } from '../util/errors.ts';
import { dirname, joinPath } from '../util/path.ts';
import { readRegular, resolveInRoot } from './postprocess.ts';
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

/**
 * Whether rpm installs a file whose `%lang` is `fileLang` under `%_install_langs` = `langs`
 * (`all`, or names): a file with no language always; otherwise when one of its `|`-separated
 * languages is a prefix of a configured one (`de` files go with `de_DE`).
 */
export function langWanted(fileLang: string, langs: readonly string[]): boolean {
  if (fileLang === '') return true;
  for (const want of langs) {
    if (want === 'all') return true;
    for (const l of fileLang.split('|')) if (l !== '' && want.startsWith(l)) return true;
  }
  return false;
}

/** `install-langs`: removes from the root the files (and then empty directories) of other languages. */
export async function dropOtherLangs(fs: FsHost, root: string, langs: readonly string[], packages: readonly ComposePackage[]): Promise<number> {
  let n = 0;
  const dirs: string[] = [];
  for (const pkg of packages)
    for (const f of pkg.files()) {
      if (f.ghost || langWanted(f.lang ?? '', langs)) continue;
      const tr = translatePath(f.path, f.mode, f.user, f.group, f.linkto, pkg.pkg);
      if (tr.kind !== 'store') continue;
      await checkNoSymlinkParents(fs, root, tr.path);
      const full = joinPath(root, tr.path);
      const st = await fs.lstat(full);
      if (!st) continue;
      if (st.kind === 'dir') dirs.push(full);
      else {
        await fs.unlink(full);
        n++;
      }
    }
  for (const d of dirs.sort((a, b) => b.length - a.length))
    if ((await fs.lstat(d))?.kind === 'dir' && (await fs.readdir(d)).length === 0) {
      await fs.rmdir(d);
      n++;
    }
  return n;
}

/** os-release with `base` replaced by `version` in VERSION= and PRETTY_NAME=, and OSTREE_VERSION added. */
export function mutateOsReleaseText(text: string, base: string, version: string): string {
  let out = '';
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^(VERSION=|PRETTY_NAME=)(.*)$/.exec(line);
    out += m ? m[1]! + m[2]!.split(base).join(version) : line;
    out += '\n';
  }
  return `${out}OSTREE_VERSION='${version.replace(/'/g, "'\\''")}'\n`;
}

/**
 * `mutate-os-release`: the os-release /etc/os-release resolves to inside the root gets the commit
 * version. Without a version (no automatic-version-prefix) nothing changes, as upstream, which
 * says so; the returned line tells what happened.
 */
export async function mutateOsRelease(fs: FsHost, root: string, base: string, version: string | null): Promise<string> {
  if (version === null || version === '') return 'Ignoring mutate-os-release: no commit version specified.';
  const path = (await resolveInRoot(fs, root, 'usr/etc/os-release')) ?? joinPath(root, 'usr/etc/os-release');
  const data = await readRegular(fs, path);
  if (!data) throw new XylemError(`mutate-os-release: ${path.slice(root.length)}: No such file or directory`, 'ENOENT');
  const st = (await fs.lstat(path))!;
  await writeFileAtomic(fs, path, new TextEncoder().encode(mutateOsReleaseText(new TextDecoder().decode(data), base, version)), { mode: st.mode & 0o7777 });
  return `Updating ${path.slice(root.length + 1)}`;
}
