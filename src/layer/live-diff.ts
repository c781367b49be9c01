// The file-level diff apply-live works from (ostree-rs-ext's diff::diff, which rpm-ostree's
// live.rs uses): two commits compared under one subdirectory, files and directories apart —
// added files (in an existing directory), added directories (whole, not their contents),
// removed files and directories, changed files (content or metadata) and changed directories
// (their own mode/owner/xattrs). Walks only into subtrees whose dirtree checksums differ.

import type { Repo } from '../repo/repo.ts';
import type { DirTree } from '../format/objects.ts';
import { XylemError } from '../util/errors.ts';

export interface FileTreeDiff {
  /** The subdirectory compared ("/usr"); paths below are absolute ("/usr/bin/x"). */
  subdir: string;
  addedFiles: string[];
  addedDirs: string[];
  removedFiles: string[];
  removedDirs: string[];
  changedFiles: string[];
  changedDirs: string[];
}

/** ostree-rs-ext's Display of a FileTreeDiff, as `Computed /usr diff:` prints it. */
export function formatFileTreeDiff(d: FileTreeDiff): string {
  return `files(added:${d.addedFiles.length} removed:${d.removedFiles.length} changed:${d.changedFiles.length}) dirs(added:${d.addedDirs.length} removed:${d.removedDirs.length} changed:${d.changedDirs.length})`;
}

async function subdirOf(repo: Repo, commit: string, subdir: string): Promise<{ tree: string; meta: string }> {
  const c = await repo.loadCommit(commit);
  let tree = c.rootTree;
  let meta = c.rootMeta;
  for (const name of subdir.split('/').filter((x) => x !== '')) {
    const dt = await repo.loadDirTree(tree);
    const d = dt.dirs.find((x) => x.name === name);
    if (!d) throw new XylemError(`Commit ${commit} has no directory ${subdir}`, 'ENOENT');
    tree = d.treeChecksum;
    meta = d.metaChecksum;
  }
  return { tree, meta };
}

/** Compares `subdir` of commits `from` and `to` (see the file header). */
export async function diffCommitSubdir(repo: Repo, from: string, to: string, subdir = '/usr'): Promise<FileTreeDiff> {
  if (!subdir.startsWith('/') || subdir.split('/').includes('..')) throw new XylemError(`Invalid subdirectory '${subdir}'`, 'EINVAL');
  const base = subdir.replace(/\/+$/, '');
  const out: FileTreeDiff = { subdir: base || '/', addedFiles: [], addedDirs: [], removedFiles: [], removedDirs: [], changedFiles: [], changedDirs: [] };
  const [a, b] = await Promise.all([subdirOf(repo, from, base), subdirOf(repo, to, base)]);
  if (a.meta !== b.meta) out.changedDirs.push(base || '/');
  const walk = async (ta: string, tb: string, prefix: string): Promise<void> => {
    if (ta === tb) return;
    const [da, db]: [DirTree, DirTree] = await Promise.all([repo.loadDirTree(ta), repo.loadDirTree(tb)]);
    const filesB = new Map(db.files.map((f) => [f.name, f.checksum]));
    const dirsB = new Map(db.dirs.map((d) => [d.name, d]));
    const filesA = new Set(da.files.map((f) => f.name));
    const dirsA = new Set(da.dirs.map((d) => d.name));
    for (const f of da.files) {
      const p = `${prefix}/${f.name}`;
      const cb = filesB.get(f.name);
      if (cb === undefined) out.removedFiles.push(p);
      else if (cb !== f.checksum) out.changedFiles.push(p);
    }
    for (const f of db.files) if (!filesA.has(f.name)) out.addedFiles.push(`${prefix}/${f.name}`);
    for (const d of da.dirs) {
      const p = `${prefix}/${d.name}`;
      const other = dirsB.get(d.name);
      if (!other) {
        out.removedDirs.push(p);
        continue;
      }
      if (other.metaChecksum !== d.metaChecksum) out.changedDirs.push(p);
      await walk(d.treeChecksum, other.treeChecksum, p);
    }
    for (const d of db.dirs) if (!dirsA.has(d.name)) out.addedDirs.push(`${prefix}/${d.name}`);
  };
  await walk(a.tree, b.tree, base);
  return out;
}
